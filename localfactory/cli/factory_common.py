"""What the factory commands (``run``, ``runs``, ``watch``, ``tui``) share: the factory of this
project, and how a run ends."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from localfactory.factory.engine import Factory
    from localfactory.store import Run


def say(line: str) -> None:
    """Print a progress line with the time, as every factory command does."""
    typer.echo(f"{time.strftime('%H:%M:%S')} {line}")
    sys.stdout.flush()


def make_factory(emit: Callable[[str], None] = say) -> Factory:
    from localfactory.cli.common import settings
    from localfactory.factory.engine import Factory
    from localfactory.sandbox.selection import sandbox_maker
    from localfactory.store import open_store

    s = settings()
    return Factory(s, open_store(s), emit=emit, make_sandbox=sandbox_maker(s, say=emit))


def finish(factory: Factory, run_id: str, work: Callable[[], Run]) -> None:
    """Run ``work``; on Ctrl-C say how to resume; exit 0 when delivered, 1 when failed.

    The sandbox is made ready first, so that a missing Docker engine is said before any
    model works, and the Docker image is built before the run rather than in its first check.
    """
    from localfactory.factory.builds import ending, resume_hint
    from localfactory.sandbox.selection import prepare

    prepare(factory.make_sandbox)
    try:
        run = work()
    except KeyboardInterrupt:
        typer.echo(f"\ninterrupted: {resume_hint([run_id])}", err=True)
        raise typer.Exit(130) from None

    ok, sentence = ending(factory.store, run)
    typer.echo(sentence, err=not ok)
    if not ok:
        raise typer.Exit(1)
