"""``localfactory run SPEC``: build a spec, showing progress live, and say where the report is."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        spec: Path = typer.Argument(..., help="The spec file (Markdown with YAML front matter)."),
    ) -> None:
        """Build SPEC: plan, tests first, code, checks, repair, holdout validation, delivery."""
        from localfactory.cli.factory_common import finish, make_factory
        from localfactory.sandbox.selection import prepare

        factory = make_factory()
        prepare(factory.make_sandbox)  # no Docker engine: said before a run is even recorded
        started = factory.start(spec)
        typer.echo(f"run {started.id}: building {started.spec_name} from {spec}")
        finish(factory, started.id, lambda: factory.run(started.id))
