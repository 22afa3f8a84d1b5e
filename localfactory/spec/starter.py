"""A new factory project: ``localfactory.toml``, the example spec and its holdout scenarios.

``localfactory init DIR`` calls :func:`create_project`. It writes nothing when any of the
files already exists, so it never overwrites a person's work.
"""

from __future__ import annotations

from pathlib import Path

from localfactory import locations
from localfactory.errors import UserError

STARTER_SPEC = "text-tools"

CONFIG_TEMPLATE = """\
# localfactory project settings. Every line is commented out: the defaults apply.
# Uncomment a line to change it. Environment variables override this file:
# LOCALFACTORY_<SECTION>__<KEY>, e.g. LOCALFACTORY_LLM__THREADS=4.
# `localfactory config show` prints the settings in effect.

[llm]
# CPU threads for the embedded model; 0 means one per core.
# threads = 0
# Sampling temperature; 0 is greedy decoding, so runs are reproducible.
# temperature = 0.0
# Default cap on tokens generated per model call.
# max_tokens = 1024

# Which model each role of the factory uses (names from `localfactory models list`),
# and where it runs: "embedded" (llama.cpp in this process) or "ollama".
[roles.coder]
# model = "qwen2.5-coder-1.5b"
# backend = "embedded"

[roles.judge]
# model = "qwen2.5-coder-0.5b"

[ollama]
# An Ollama server, e.g. a GPU workstation on your network.
# host = "http://127.0.0.1:11434"

[store]
# The run store (SQLite), relative to this folder.
# path = ".localfactory/runs.db"
"""


def examples_dir() -> Path:
    """The shipped example specs: the checkout's ``examples/``, or the copy bundled in the wheel."""
    root = locations.source_root()
    candidates = [root / "examples"] if root else []
    candidates.append(Path(__file__).resolve().parent.parent / "_bundled" / "examples")
    for candidate in candidates:
        if (candidate / f"{STARTER_SPEC}.md").is_file():
            return candidate
    raise UserError(
        "The example specs are missing from this installation of localfactory.",
        hint="Reinstall localfactory, or run it from a checkout of its repository.",
    )


def project_files() -> dict[Path, str]:
    """Relative path → content of every file a new project gets."""
    examples = examples_dir()
    files = {
        Path(locations.PROJECT_CONFIG_NAME): CONFIG_TEMPLATE,
        Path("specs") / f"{STARTER_SPEC}.md": (examples / f"{STARTER_SPEC}.md").read_text("utf-8"),
    }
    # Shipped specs keep their holdout scenarios in the top-level scenarios/ folder.
    scenarios = examples.parent / "scenarios" / STARTER_SPEC
    for source in sorted(scenarios.iterdir()):
        if source.is_file():
            files[Path("scenarios") / STARTER_SPEC / source.name] = source.read_text("utf-8")
    return files


def create_project(folder: Path) -> list[Path]:
    """Write the starter project into ``folder`` (made if missing); the paths written."""
    folder = folder.expanduser()
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} exists and is not a folder.", hint="Choose another folder.")
    files = project_files()
    existing = [rel for rel in files if (folder / rel).exists()]
    if existing:
        names = ", ".join(str(folder / rel) for rel in existing[:3])
        more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        raise UserError(
            f"Not overwriting existing files: {names}{more}.",
            hint="Run init in an empty folder, or move those files away first.",
        )
    written = []
    for rel, content in files.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        written.append(target)
    return written
