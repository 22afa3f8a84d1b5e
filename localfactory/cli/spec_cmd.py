"""``localfactory spec``: (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="spec", no_args_is_help=True)
