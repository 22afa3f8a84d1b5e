"""``localfactory twin``: list, start, stop and inspect digital twins of SaaS APIs."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from localfactory.errors import UserError

app = typer.Typer(
    help="Digital twins of SaaS APIs (Slack, GitHub) served on this machine.", no_args_is_help=True
)


@app.command("list")
def list_twins() -> None:
    """The twins localfactory ships, and which of them run."""
    from localfactory.twins.catalog import all_twins
    from localfactory.twins.processes import is_alive, read_record

    twins = all_twins()
    if not twins:
        typer.echo("No twins are shipped with this installation.")
        return
    width = max(len(name) for name in twins)
    for name, manifest in sorted(twins.items()):
        record = read_record(name)
        where = f"running at {record.api_url}" if record and is_alive(record) else "stopped"
        typer.echo(f"{name:<{width}}  {manifest.title} (port {manifest.default_port}, {where})")
        if manifest.sdk:
            typer.echo(f"{'':<{width}}  verified with {manifest.sdk}")


@app.command("up")
def up(
    name: str = typer.Argument(..., help="The twin to start (see `localfactory twin list`)."),
    local: bool = typer.Option(False, "--local", help="Run it as a local background process."),
    port: int | None = typer.Option(
        None, "--port", help="Port to listen on (default: the twin's own)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    restore: str | None = typer.Option(
        None, "--restore", help="Start from this snapshot (saved with POST /_twin/snapshot)."
    ),
) -> None:
    """Start a twin in the background."""
    from localfactory.twins.catalog import get_twin
    from localfactory.twins.processes import start_local

    manifest = get_twin(name)
    if not local:
        raise UserError(
            "Docker mode is not built yet; use --local.",
            hint=f"localfactory twin up {name} --local",
        )
    chosen = manifest.default_port if port is None else port
    if not 1 <= chosen <= 65535:
        raise UserError(
            f"Port {chosen} is not a TCP port.", hint="Use a port between 1024 and 65535."
        )
    record = start_local(manifest, host=host, port=chosen, restore=restore)
    typer.echo(f"{name} twin running (pid {record.pid})")
    typer.echo(f"  API:   {record.api_url}")
    typer.echo(f"  admin: {record.url}/_twin/  (a token: POST {record.url}/_twin/tokens)")
    typer.echo(f"  log:   {record.log}")


@app.command("down")
def down(name: str = typer.Argument(..., help="The twin to stop.")) -> None:
    """Stop a twin started with `up`."""
    from localfactory.twins.processes import read_record, stop

    record = read_record(name)
    if record is None:
        raise UserError(
            f"No {name} twin is running.", hint="`localfactory twin status` shows what runs."
        )
    if stop(record):
        typer.echo(f"Stopped the {name} twin (pid {record.pid}).")
    else:
        typer.echo(f"The {name} twin (pid {record.pid}) had already exited; its record is cleared.")


@app.command("status")
def status() -> None:
    """Which twins run, where, and whether they answer their health check."""
    from localfactory.twins.processes import all_records, health, is_alive

    records = all_records()
    if not records:
        typer.echo("No twins are running. Start one with `localfactory twin up NAME --local`.")
        return
    for record in records:
        if not is_alive(record):
            typer.echo(
                f"{record.name}: exited (pid {record.pid} is gone); "
                f"`localfactory twin down {record.name}` clears it"
            )
            continue
        answer = health(record)
        state = (
            f"healthy, {answer.get('requests', 0)} requests served" if answer else "not answering"
        )
        uptime = _duration(time.time() - record.started_at)
        typer.echo(f"{record.name}: {record.api_url}  pid {record.pid}  up {uptime}  {state}")


@app.command("logs")
def logs(
    name: str = typer.Argument(..., help="The twin whose log to print."),
    lines: int = typer.Option(200, "--lines", "-n", help="How many of the last lines (0: all)."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
) -> None:
    """Print a twin's log."""
    from localfactory.twins.catalog import get_twin
    from localfactory.twins.processes import log_path

    get_twin(name)
    path = log_path(name)
    if not path.is_file():
        raise UserError(
            f"The {name} twin has no log yet.",
            hint=f"Start it with `localfactory twin up {name} --local`.",
        )
    text = path.read_text(errors="replace").splitlines()
    for line in text[-lines:] if lines > 0 else text:
        typer.echo(line)
    if follow:
        _follow(path)


def _follow(path: Path) -> None:
    with path.open(errors="replace") as fh:
        fh.seek(0, 2)
        try:
            while True:
                line = fh.readline()
                if line:
                    typer.echo(line.rstrip("\n"))
                else:
                    time.sleep(0.2)
        except KeyboardInterrupt:
            return


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
