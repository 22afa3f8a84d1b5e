"""Serving a twin: ``python -m localfactory.twins.serve NAME --port P``, or in a thread for tests.

One process, one event loop, uvicorn underneath (uvloop and httptools when installed).
It listens on 127.0.0.1 unless told otherwise. This command line is what ``localfactory
twin up --local`` starts, and what a container image runs.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localfactory import locations
from localfactory.errors import UserError
from localfactory.twins.app import TwinApp
from localfactory.twins.catalog import TwinManifest, get_twin, load_twin
from localfactory.twins.journal import DEFAULT_CAPACITY
from localfactory.twins.state import SnapshotError, read_snapshot

if TYPE_CHECKING:
    import uvicorn

LOOPBACK = "127.0.0.1"


def default_snapshot_dir(name: str) -> Path:
    return locations.data_dir() / "twins" / name / "snapshots"


def build_app(
    name: str,
    *,
    snapshot_dir: Path | None = None,
    restore: str | None = None,
    journal: int = DEFAULT_CAPACITY,
) -> tuple[TwinApp, TwinManifest]:
    """The ASGI app of the shipped twin ``name``, optionally starting from a saved snapshot."""
    manifest = get_twin(name)
    twin = load_twin(manifest)
    folder = snapshot_dir or default_snapshot_dir(name)
    app = TwinApp(twin, snapshot_dir=folder, journal_capacity=journal)
    if restore:
        try:
            app.state = twin.state_type.load(read_snapshot(folder / f"{restore}.json", twin.name))
        except SnapshotError as exc:
            raise UserError(
                str(exc), hint=f"Snapshots of this twin are kept in {folder}."
            ) from None
    return app, manifest


def uvicorn_config(app: Any, host: str, port: int, log_level: str = "warning") -> uvicorn.Config:
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        proxy_headers=False,
        server_header=False,
        date_header=False,
    )


@dataclass
class RunningTwin:
    """A twin served from a background thread; ``stop()`` (or leaving the ``with``) ends it."""

    app: TwinApp
    host: str
    port: int
    server: Any
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> RunningTwin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_in_thread(app: TwinApp, host: str = LOOPBACK, port: int = 0) -> RunningTwin:
    """Serve ``app`` on ``host:port`` (0: a free port) from a daemon thread; returns once it listens."""
    import uvicorn

    server = uvicorn.Server(uvicorn_config(app, host, port))
    thread = threading.Thread(target=server.run, name=f"twin-{app.twin.name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"The {app.twin.name} twin did not start on {host}:{port}.")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return RunningTwin(app=app, host=host, port=bound, server=server, thread=thread)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m localfactory.twins.serve", description="Serve one digital twin."
    )
    parser.add_argument("name", help="the twin to serve (see `localfactory twin list`)")
    parser.add_argument(
        "--host", default=LOOPBACK, help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=None, help="port (default: the twin's own)")
    parser.add_argument("--snapshot-dir", type=Path, default=None, help="where snapshots are kept")
    parser.add_argument("--restore", default=None, help="start from this saved snapshot")
    parser.add_argument("--journal", type=int, default=DEFAULT_CAPACITY, help="requests to keep")
    parser.add_argument("--log-level", default="warning", help="uvicorn's log level")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    try:
        app, manifest = build_app(
            args.name, snapshot_dir=args.snapshot_dir, restore=args.restore, journal=args.journal
        )
    except UserError as exc:
        print(f"localfactory: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    import uvicorn

    port = manifest.default_port if args.port is None else args.port
    base = manifest.base_path or "/"
    print(
        f"{manifest.name} twin: http://{args.host}:{port}{base} "
        f"(admin http://{args.host}:{port}/_twin/, snapshots in {app.snapshot_dir})",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.Server(uvicorn_config(app, args.host, port, args.log_level)).run()


if __name__ == "__main__":
    main()
