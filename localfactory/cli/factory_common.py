"""What the ``run`` and ``runs`` commands share: the factory of this project, and how a run ends."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from localfactory.factory.engine import Factory
    from localfactory.store import Run


def _emit(line: str) -> None:
    typer.echo(f"{time.strftime('%H:%M:%S')} {line}")
    sys.stdout.flush()


def make_factory() -> Factory:
    from localfactory.cli.common import settings
    from localfactory.factory.engine import Factory
    from localfactory.sandbox.selection import sandbox_maker
    from localfactory.store import open_store

    s = settings()
    return Factory(s, open_store(s), emit=_emit, make_sandbox=sandbox_maker(s, say=_emit))


def finish(factory: Factory, run_id: str, work: Callable[[], Run]) -> None:
    """Run ``work``; on Ctrl-C say how to resume; exit 0 when delivered, 1 when failed.

    The sandbox is made ready first, so that a missing Docker engine is said before any
    model works, and the Docker image is built before the run rather than in its first check.
    """
    from localfactory.sandbox.selection import prepare

    prepare(factory.make_sandbox)
    try:
        run = work()
    except KeyboardInterrupt:
        typer.echo(
            f"\ninterrupted: run {run_id} is kept as it was; continue it with "
            f"`localfactory runs resume {run_id}`",
            err=True,
        )
        raise typer.Exit(130) from None
    if run.state == "done":
        from localfactory.validators.review import risk_of

        risk = risk_of(factory.store, run.id)
        if risk is not None and risk[0].held:
            typer.echo(
                f"built, and held for review (risk {risk[0].score:.2f}): decide with "
                f"`localfactory review {run.id} --approve` or `--reject -m TEXT`"
            )
            return
        typer.echo(f"delivered: run {run.id} succeeded")
        return
    typer.echo(f"run {run.id} failed: {run.error}", err=True)
    raise typer.Exit(1)
