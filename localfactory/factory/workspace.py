"""The workspace: each spec builds into its own git repository.

Every iteration of a run is one commit whose message carries the run id and step, on the
branch ``run/<run id>``; a delivered result is the branch ``delivered``. A path from a
model that points outside the workspace (absolute, ``..``, through a symlink, into
``.git``) is refused with :class:`UnsafePath`, which the loop turns into feedback.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path, PurePosixPath

from localfactory.errors import UserError

DELIVERY_BRANCH = "delivered"
_IGNORED_DIRS = {
    ".git",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".venv",
    ".sandbox",
}
_GITIGNORE = "__pycache__/\n*.pyc\n.pytest_cache/\n.mypy_cache/\n.ruff_cache/\n.sandbox/\n"


class UnsafePath(Exception):
    """A model asked to write outside the workspace."""


class GitError(UserError):
    """git failed inside a workspace."""


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    # -- git -------------------------------------------------------------------------
    def git(self, *args: str, check: bool = True) -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "localfactory",
            "GIT_AUTHOR_EMAIL": "factory@localhost",
            "GIT_COMMITTER_NAME": "localfactory",
            "GIT_COMMITTER_EMAIL": "factory@localhost",
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        proc = subprocess.run(
            ["git", "-C", str(self.root), *args], capture_output=True, text=True, env=env
        )
        if check and proc.returncode != 0:
            raise GitError(
                f"git {args[0]} failed in the workspace {self.root}: {proc.stderr.strip() or proc.stdout.strip()}"
            )
        return proc.stdout.strip()

    @classmethod
    def create(cls, root: Path, branch: str) -> Workspace:
        """Open (creating if needed) the repository at ``root`` and switch to ``branch``."""
        root.mkdir(parents=True, exist_ok=True)
        ws = cls(root)
        if not (ws.root / ".git").exists():
            ws.git("init", "-q", "-b", "main")
            (ws.root / ".gitignore").write_text(_GITIGNORE)
            ws.git("add", ".gitignore")
            ws.git("commit", "-q", "-m", "Workspace created by localfactory")
        if ws.git("rev-parse", "--abbrev-ref", "HEAD") != branch:
            exists = ws.git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
            # A new run starts from the empty workspace, not from another run's branch.
            ws.git("checkout", "-q", *([branch] if exists else ["-b", branch, "main"]))
        return ws

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def commit(self, message: str, *, run_id: str, step: int) -> str:
        """Commit everything as one iteration; returns the commit id (a commit even when nothing changed)."""
        self.git("add", "-A")
        self.git(
            "commit", "-q", "--allow-empty", "-m", message, "-m", f"Run: {run_id}\nStep: {step}"
        )
        return self.head()

    def reset_to_head(self) -> None:
        """Drop uncommitted changes (a step killed half-way) so a resumed step starts clean."""
        self.git("reset", "-q", "--hard", "HEAD")
        self.git("clean", "-q", "-fdx", "-e", ".sandbox")

    def head_step(self) -> tuple[str, int] | None:
        """(run id, step) recorded in the HEAD commit's message, if it is an iteration commit."""
        body = self.git("log", "-1", "--format=%b")
        fields = dict(line.split(": ", 1) for line in body.splitlines() if ": " in line)
        if "Run" in fields and fields.get("Step", "").isdigit():
            return fields["Run"], int(fields["Step"])
        return None

    def rewind_step(self, run_id: str, step: int) -> None:
        """Undo whatever an interrupted ``step`` left, committed or not, so it can run again."""
        if self.head_step() == (run_id, step):
            self.git("reset", "-q", "--hard", "HEAD~1")
        self.reset_to_head()

    def deliver(self) -> str:
        """Point the delivery branch at the current commit; returns it."""
        head = self.head()
        self.git("branch", "-f", DELIVERY_BRANCH, head)
        return head

    # -- files -----------------------------------------------------------------------
    def resolve(self, rel: str) -> Path:
        """The absolute path of ``rel`` inside the workspace, or :class:`UnsafePath`."""
        pure = PurePosixPath(rel.replace("\\", "/"))
        if pure.is_absolute() or not rel.strip():
            raise UnsafePath(f"{rel!r} is not a relative path inside the workspace")
        if ".." in pure.parts or (pure.parts and pure.parts[0] == ".git"):
            raise UnsafePath(f"{rel!r} points outside the workspace")
        target = (self.root / pure).resolve()
        if not target.is_relative_to(self.root):
            raise UnsafePath(f"{rel!r} leads outside the workspace through a link")
        return target

    def write(self, rel: str, content: str) -> Path:
        target = self.resolve(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.lf-tmp")
        tmp.write_text(content)
        os.replace(tmp, target)
        return target

    def read(self, rel: str) -> str | None:
        try:
            return self.resolve(rel).read_text()
        except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
            return None

    def files(self) -> list[str]:
        """Every file of the software (relative POSIX paths), sorted, without caches or git."""
        out = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in _IGNORED_DIRS)
            for name in filenames:
                rel = Path(dirpath, name).relative_to(self.root).as_posix()
                if rel != ".gitignore" and not name.endswith(".pyc"):
                    out.append(rel)
        return sorted(out)
