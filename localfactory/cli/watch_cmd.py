"""``localfactory watch SPEC...``: build specs, then build each again whenever it is saved."""

from __future__ import annotations

import threading
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("watch")
    def watch(
        targets: list[Path] = typer.Argument(
            ..., metavar="SPEC", help="Spec files, or folders whose *.md files are specs."
        ),
    ) -> None:
        """Build each spec now, then again each time it is saved with new content.

        A malformed spec gets one message with its line and watching goes on; an edit during
        a build stops that build at once and builds the new version. Ctrl-C
        stops watching; every unfinished run can be resumed.
        """
        from localfactory.cli.factory_common import make_factory, say
        from localfactory.factory.builds import Builder, BuildEvent, resume_hint
        from localfactory.factory.watch import SpecWatch
        from localfactory.sandbox.selection import prepare

        def heard(event: BuildEvent) -> None:
            typer.echo(event.message, err=not event.ok)

        factory = make_factory()
        prepare(factory.make_sandbox)  # no Docker engine: said before anything is built
        builder = Builder(factory, heard)
        spec_watch = SpecWatch(builder, say, warn=lambda text: typer.echo(text, err=True))
        try:
            specs = spec_watch.add(*targets)
            shown = ", ".join(str(t) for t in targets)
            found = f" ({len(specs)} specs)" if len(specs) != len(targets) else ""
            say(f"watching {shown}{found}: a save with new content builds again; Ctrl-C stops")
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            spec_watch.close()
            left = builder.close()
        typer.echo("\nstopped watching" + (f"; {resume_hint(left)}" if left else ""))
