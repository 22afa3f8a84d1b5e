"""The ``localfactory`` command: a thin layer over the core.

Each command group lives in its own module and imports heavy libraries (llama_cpp,
docker, textual) inside its commands, so ``localfactory --help`` stays fast.
"""

from __future__ import annotations

import sys

import typer

from localfactory import __version__
from localfactory.cli import (
    ask_cmd,
    bench_cmd,
    config_cmd,
    init_cmd,
    models_cmd,
    review_cmd,
    run_cmd,
    runs_cmd,
    spec_cmd,
    tui_cmd,
    twin_cmd,
    watch_cmd,
)
from localfactory.errors import UserError

app = typer.Typer(
    name="localfactory",
    help="A local-first, offline software factory: spec in, tested software out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"localfactory {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """A local-first, offline software factory: spec in, tested software out."""


app.add_typer(models_cmd.app, name="models")
app.add_typer(config_cmd.app, name="config")
app.add_typer(bench_cmd.app, name="bench")
app.add_typer(runs_cmd.app, name="runs")
app.add_typer(twin_cmd.app, name="twin")
app.add_typer(spec_cmd.app, name="spec")
run_cmd.register(app)
ask_cmd.register(app)
init_cmd.register(app)
review_cmd.register(app)
watch_cmd.register(app)
tui_cmd.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one clear message and exit code 2, never a traceback."""
    try:
        app(args=argv, prog_name="localfactory", standalone_mode=True)
    except UserError as exc:
        print(f"localfactory: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("localfactory: interrupted.", file=sys.stderr)
        sys.exit(130)
