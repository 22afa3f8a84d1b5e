"""Who runs the command in a Docker sandbox: never root, and always someone who may write the workspace.

Without root, the engine's user is this process's own (uid and gid), which owns its
workspaces. As root, a workspace some user owns is run as that user; one root owns is lent
to ``nobody`` for the run: it and everything in it but ``.git`` (the factory's history,
which the command must not touch) are given to ``nobody``, and given back when the run
ends, so files the command wrote belong to the workspace's owner like the rest. A
workspace found still lent (its supervisor was killed mid-run) is given back to root.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

NOBODY = (65534, 65534)
"""Who runs the command when root owns the workspace (Debian's ``nobody:nogroup``)."""


def chown_tree(root: Path, uid: int, gid: int) -> None:
    """Give ``root`` and everything in it but ``.git`` to ``uid:gid`` (links themselves only)."""
    os.lchown(root, uid, gid)
    for folder, dirs, files in os.walk(root):
        if Path(folder) == root and ".git" in dirs:
            dirs.remove(".git")  # the factory's history stays root's: the command cannot touch it
        for name in (*dirs, *files):
            with contextlib.suppress(FileNotFoundError):
                os.lchown(os.path.join(folder, name), uid, gid)


@contextlib.contextmanager
def lent(
    workspace: Path, uid: int, gid: int, back_to: tuple[int, int] | None = None
) -> Iterator[None]:
    """The workspace is ``uid:gid``'s for the block, then its owner's (or ``back_to``) again."""
    owner = workspace.stat()
    chown_tree(workspace, uid, gid)
    try:
        yield
    finally:
        chown_tree(workspace, *(back_to or (owner.st_uid, owner.st_gid)))


def run_as(workspace: Path) -> tuple[str, contextlib.AbstractContextManager[None]]:
    """The container's ``uid:gid`` and what lends it the workspace (never root)."""
    if os.geteuid() != 0:
        return f"{os.geteuid()}:{os.getegid()}", contextlib.nullcontext()
    owner = workspace.stat()
    if owner.st_uid == NOBODY[0]:  # lent by a supervisor killed before it gave it back: root's
        return f"{NOBODY[0]}:{NOBODY[1]}", lent(workspace, *NOBODY, back_to=(0, 0))
    if owner.st_uid != 0:
        return f"{owner.st_uid}:{owner.st_gid}", contextlib.nullcontext()
    return f"{NOBODY[0]}:{NOBODY[1]}", lent(workspace, *NOBODY)
