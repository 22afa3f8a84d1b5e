"""``localfactory init``: start a factory project with settings, an example spec and scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init(
        folder: Annotated[
            Path, typer.Argument(help="The project folder (made if missing).")
        ] = Path("."),
    ) -> None:
        """Create localfactory.toml, specs/ with an example spec, and its holdout scenarios."""
        from localfactory.spec.starter import STARTER_SPEC, create_project

        written = create_project(folder)
        for path in written:
            typer.echo(f"  created {path}")
        spec = folder / "specs" / f"{STARTER_SPEC}.md"
        typer.echo(f"Project ready. Next: localfactory spec check {spec}")
