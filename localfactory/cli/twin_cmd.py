"""``localfactory twin``: (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="twin", no_args_is_help=True)
