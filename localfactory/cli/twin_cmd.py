"""``localfactory twin``: list, start, stop and inspect digital twins of SaaS APIs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from localfactory.errors import UserError

if TYPE_CHECKING:
    import docker

    from localfactory.twins.catalog import TwinManifest
    from localfactory.twins.docker_run import TwinContainer

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
    client = _engine()
    in_docker = {c.name: c for c in _containers(client) if c.running} if client else {}
    for name, manifest in sorted(twins.items()):
        record = read_record(name)
        where = f"running at {record.api_url}" if record and is_alive(record) else "stopped"
        if name in in_docker:
            where = f"running in Docker at {in_docker[name].api_url}"
        typer.echo(f"{name:<{width}}  {manifest.title} (port {manifest.default_port}, {where})")
        if manifest.sdk:
            typer.echo(f"{'':<{width}}  verified with {manifest.sdk}")


@app.command("up")
def up(
    name: str = typer.Argument(..., help="The twin to start (see `localfactory twin list`)."),
    local: bool = typer.Option(
        False, "--local", help="Run it as a local background process, even when Docker is there."
    ),
    port: int | None = typer.Option(
        None, "--port", help="Port to listen on (default: the twin's own)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    restore: str | None = typer.Option(
        None, "--restore", help="Start from this snapshot (saved with POST /_twin/snapshot)."
    ),
    image: str | None = typer.Option(
        None, "--image", help="Docker image to run (default: the one `twin build` makes)."
    ),
) -> None:
    """Start a twin in the background: in Docker when an engine answers, else as a local process."""
    from localfactory.twins.catalog import get_twin
    from localfactory.twins.processes import start_local

    manifest = get_twin(name)
    chosen = manifest.default_port if port is None else port
    if not 1 <= chosen <= 65535:
        raise UserError(
            f"Port {chosen} is not a TCP port.", hint="Use a port between 1024 and 65535."
        )
    if not local:
        client = _engine()
        if client is not None:
            _up_in_docker(client, manifest, image, host=host, port=chosen, restore=restore)
            return
        typer.echo(
            f"No Docker engine is reachable at {_engine_host()}; "
            f"running the {name} twin as a local process."
        )
    else:
        _refuse_if_in_docker(name)
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
    if record is None and _down_in_docker(name):
        return
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
    client = _engine()
    containers = [] if client is None else _containers(client)
    if not records and not containers:
        typer.echo("No twins are running. Start one with `localfactory twin up NAME`.")
        return
    for twin in containers:
        answer = _health(twin.url) if twin.running else None
        state = _health_words(answer) if twin.running else f"container {twin.status}"
        uptime = _duration(time.time() - twin.started_at)
        typer.echo(
            f"{twin.name}: {twin.api_url}  container {twin.short_id} ({twin.image})  "
            f"up {uptime}  {state}"
        )
    for record in records:
        if not is_alive(record):
            typer.echo(
                f"{record.name}: exited (pid {record.pid} is gone); "
                f"`localfactory twin down {record.name}` clears it"
            )
            continue
        state = _health_words(health(record))
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
    client = _engine()
    if client is not None and _logs_in_docker(client, name, lines, follow):
        return
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


def _health_words(answer: dict[str, Any] | None) -> str:
    return f"healthy, {answer.get('requests', 0)} requests served" if answer else "not answering"


@app.command("new")
def new(
    name: str = typer.Argument(..., help="The new twin's name (lower case, like bookshelf)."),
    source: Path = typer.Option(
        ..., "--from", help="The API's OpenAPI 3.0/3.1 document (JSON, or YAML named .yaml)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Folder to write the twin to (default: twins/NAME)."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Model that writes the handlers (default: the coder role's)."
    ),
    no_model: bool = typer.Option(
        False, "--no-model", help="Build the scaffold only; handlers it cannot infer answer 501."
    ),
    force: bool = typer.Option(False, "--force", help="Build it again over an existing twin."),
) -> None:
    """Build a twin from an OpenAPI document: a scaffold, plus the handlers the coder model writes."""
    from localfactory.cli.common import settings
    from localfactory.twins.scaffold_command import build_twin

    build_twin(
        settings(),
        name,
        source,
        out=out,
        model=model,
        use_model=not no_model,
        force=force,
        say=typer.echo,
    )


# -- Docker -------------------------------------------------------------------------------


@app.command("build")
def build(
    name: str = typer.Argument(..., help="The twin whose image to build."),
    base: str | None = typer.Option(
        None, "--base", help="Base image with python3 (default: [twins] base_image, bootstrapped)."
    ),
    tag: str | None = typer.Option(
        None, "--tag", help="Image tag (default: localfactory/twin-NAME:VERSION)."
    ),
) -> None:
    """Build the twin's Docker image with no network (wheels prepared here, installed --no-index)."""
    from localfactory.cli.common import settings
    from localfactory.twins.catalog import get_twin
    from localfactory.twins.docker import build_image
    from localfactory.twins.engine import connect

    manifest = get_twin(name)
    client = connect(settings().twins.docker_host)
    started = time.monotonic()
    built = build_image(client, manifest, settings().twins, base=base, tag=tag, say=typer.echo)
    typer.echo(f"Built {built} in {time.monotonic() - started:.0f} s.")


@app.command("export")
def export(
    name: str = typer.Argument(..., help="The twin whose image to export."),
    output: Path = typer.Option(..., "--output", "-o", help="File to write (.tar, or .tar.gz)."),
    tag: str | None = typer.Option(None, "--tag", help="Image to export (default: the twin's)."),
) -> None:
    """Write the twin's image to a file, for sites with no registry (`twin import` loads it)."""
    from localfactory.cli.common import settings
    from localfactory.twins.catalog import get_twin
    from localfactory.twins.docker import export_image, image_tag, require_image
    from localfactory.twins.engine import connect

    get_twin(name)
    client = connect(settings().twins.docker_host)
    chosen = tag or image_tag(name)
    require_image(client, chosen, name)
    size = export_image(client, chosen, output)
    typer.echo(f"Exported {chosen} to {output} ({size / 1e6:.0f} MB).")


@app.command("import")
def import_(file: Path = typer.Argument(..., help="A file written by `twin export`.")) -> None:
    """Load a twin image exported elsewhere into this machine's Docker engine."""
    from localfactory.cli.common import settings
    from localfactory.twins.docker import import_image
    from localfactory.twins.engine import connect

    client = connect(settings().twins.docker_host)
    tags = import_image(client, file)
    typer.echo(f"Imported {', '.join(tags) or 'an untagged image'} from {file}.")


def _engine_host() -> str:
    from localfactory.cli.common import settings
    from localfactory.twins.engine import engine_host

    return engine_host(settings().twins.docker_host)


def _engine() -> docker.DockerClient | None:
    """A client of the Docker engine, or None when none answers (asked with a short time-out)."""
    from localfactory.twins.engine import connect, engine_version

    host = _engine_host()
    return connect(host) if engine_version(host, timeout=3) is not None else None


def _up_in_docker(
    client: docker.DockerClient,
    manifest: TwinManifest,
    image: str | None,
    *,
    host: str,
    port: int,
    restore: str | None,
) -> None:
    from localfactory.cli.common import settings
    from localfactory.twins import docker_run
    from localfactory.twins.docker import build_image, image_tag, require_image
    from localfactory.twins.docker_base import has_image

    chosen = image or image_tag(manifest.name)
    if image is None and not has_image(client, chosen):
        typer.echo(f"No image of the {manifest.name} twin yet; building {chosen} first.")
        build_image(client, manifest, settings().twins, say=typer.echo)
    require_image(client, chosen, manifest.name)
    twin = docker_run.start(client, manifest, image=chosen, host=host, port=port, restore=restore)
    typer.echo(f"{manifest.name} twin running in Docker (container {twin.short_id}, {chosen})")
    typer.echo(f"  API:   {twin.api_url}")
    typer.echo(f"  admin: {twin.url}/_twin/  (a token: POST {twin.url}/_twin/tokens)")
    typer.echo(f"  logs:  localfactory twin logs {manifest.name}")


def _refuse_if_in_docker(name: str) -> None:
    from localfactory.twins import docker_run

    client = _engine()
    running = docker_run.find(client, name) if client is not None else None
    if running is not None and running.running:
        raise UserError(
            f"The {name} twin is already running in Docker at {running.api_url}.",
            hint=f"Stop it first with `localfactory twin down {name}`.",
        )


def _down_in_docker(name: str) -> bool:
    from localfactory.twins import docker_run

    client = _engine()
    if client is None:
        return False
    twin = docker_run.stop(client, name)
    if twin is None:
        return False
    if twin.running:
        typer.echo(f"Stopped the {name} twin (container {twin.short_id}).")
    else:
        typer.echo(f"The {name} twin's container had already exited ({twin.status}); removed it.")
    return True


def _containers(client: docker.DockerClient) -> list[TwinContainer]:
    from localfactory.twins import docker_run

    return docker_run.all_containers(client)


def _health(url: str) -> dict[str, Any] | None:
    from localfactory.twins.docker_run import health

    return health(url)


def _logs_in_docker(client: docker.DockerClient, name: str, lines: int, follow: bool) -> bool:
    from localfactory.twins import docker_run

    if docker_run.find(client, name) is None:
        return False
    try:
        for line in docker_run.logs(client, name, lines, follow):
            typer.echo(line)
    except KeyboardInterrupt:
        pass
    return True
