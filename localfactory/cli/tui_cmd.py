"""``localfactory tui``: the runs of this project, live, in the terminal, and what to do with them."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("tui")
    def tui() -> None:
        """Open the terminal UI: runs live, their steps and logs; start, resume, stop, review, watch."""
        from localfactory.cli.factory_common import make_factory
        from localfactory.factory.builds import resume_hint
        from localfactory.sandbox.selection import prepare
        from localfactory.tui.app import make_app

        factory = make_factory(emit=lambda line: None)  # the TUI reads progress from the store
        prepare(factory.make_sandbox)  # no Docker engine: said here, not inside the screen
        left = make_app(factory).run() or []
        if left:
            typer.echo(resume_hint(left))
