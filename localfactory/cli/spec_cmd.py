"""``localfactory spec``: check a spec file, and show what the models will read of it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Check specs and show how the models see them.", no_args_is_help=True)

SpecFile = Annotated[Path, typer.Argument(help="The spec file (Markdown with YAML front matter).")]


@app.command("check")
def check(file: SpecFile) -> None:
    """Validate a spec: one clear message with the line to fix, or a short summary."""
    from localfactory.spec import load_spec, summary

    spec = load_spec(file)
    typer.echo(f"{file}: OK")
    typer.echo(summary(spec))


@app.command("show")
def show(
    file: SpecFile,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the parsed spec as JSON instead.")
    ] = False,
) -> None:
    """Print the spec as the models read it (holdout scenarios are never included)."""
    from localfactory.spec import load_spec, render_for_prompt

    spec = load_spec(file)
    if as_json:
        typer.echo(spec.model_dump_json(indent=2))
    else:
        typer.echo(render_for_prompt(spec), nl=False)
