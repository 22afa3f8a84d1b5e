"""``localfactory config``: show the effective settings and where they come from."""

from __future__ import annotations

import typer

app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)


@app.command("show")
def show() -> None:
    """Print the effective settings as TOML-like lines, after files and environment are applied."""
    from localfactory import locations
    from localfactory.cli.common import settings

    s = settings()
    project = locations.find_project_config()
    typer.echo(f"# user file:    {locations.user_config_file()}")
    typer.echo(f"# project file: {project or '(none found)'}")
    data = s.model_dump(mode="json")
    for section, values in data.items():
        if section == "roles":
            for role, cfg in values.items():
                typer.echo(f"\n[roles.{role}]")
                for k, v in cfg.items():
                    typer.echo(f"{k} = {v!r}")
            continue
        typer.echo(f"\n[{section}]")
        for k, v in values.items():
            typer.echo(f"{k} = {v!r}")


@app.command("path")
def path() -> None:
    """Print the user config file path (created by you; localfactory never writes it)."""
    from localfactory import locations

    typer.echo(str(locations.user_config_file()))
