"""``localfactory ask``: one prompt through a role's model, streamed to the terminal."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("ask")
    def ask(prompt: str = typer.Argument(..., help="What to ask.")) -> None:
        """Send one prompt to a role's model and stream the answer (being built)."""
        raise typer.Exit(1)
