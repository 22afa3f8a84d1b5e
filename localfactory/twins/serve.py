"""Serving a twin: ``python -m localfactory.twins.serve NAME --port P``, or in a thread for tests.

One process, one event loop, served by uvicorn; ``--server fast`` serves it with
:mod:`localfactory.twins.fastserve` (httptools, uvloop when installed) instead. The twin bench
measures both side by side. The figures have gone both ways: in one session the fast server
came out at 0.82x and 0.88x uvicorn's requests per second, in the next (load 1.3-1.7) at 1.11x and
1.20x, and both passed the 5,000 req/s target on their own. uvicorn stays the default for
``twin up`` and images until the fast server wins consistently; tests serve in-thread twins on both.
It listens on 127.0.0.1 unless told otherwise. This command line is what ``localfactory
twin up --local`` starts, and what a container image runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from localfactory import locations
from localfactory.errors import UserError
from localfactory.twins.app import TwinApp
from localfactory.twins.catalog import TwinManifest, get_twin, load_twin
from localfactory.twins.fastserve import TwinServer, start_in_thread, wait_until_started
from localfactory.twins.fastserve import run as run_fast
from localfactory.twins.journal import DEFAULT_CAPACITY
from localfactory.twins.state import SnapshotError, read_snapshot

if TYPE_CHECKING:
    import uvicorn

LOOPBACK = "127.0.0.1"
SERVERS = ("fast", "uvicorn")
Server = Literal["fast", "uvicorn"]


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
    """The :class:`~localfactory.twins.fastserve.TwinServer` (or ``uvicorn.Server``)."""
    thread: threading.Thread
    halt: Callable[[], None]
    """Asks the server to stop (thread-safe); :meth:`stop` also waits for it."""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.halt()
        self.thread.join(timeout=10)

    def __enter__(self) -> RunningTwin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_in_thread(
    app: TwinApp, host: str = LOOPBACK, port: int = 0, *, server: Server = "fast"
) -> RunningTwin:
    """Serve ``app`` on ``host:port`` (0: a free port) from a daemon thread; returns once it listens."""
    name = f"twin-{app.twin.name}"
    if server != "uvicorn":
        fast = TwinServer(app, host, port)
        thread = start_in_thread(fast, name)
        return RunningTwin(app, host, fast.bound_port, fast, thread, fast.stop)
    import uvicorn

    chosen = uvicorn.Server(uvicorn_config(app, host, port))
    thread = threading.Thread(target=chosen.run, name=name, daemon=True)
    thread.start()
    wait_until_started(lambda: chosen.started, thread, f"{host}:{port}")

    def halt() -> None:
        chosen.should_exit = True

    bound: int = chosen.servers[0].sockets[0].getsockname()[1]
    return RunningTwin(app, host, bound, chosen, thread, halt)


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
    parser.add_argument("--log-level", default="warning", help="the server's log level")
    parser.add_argument(
        "--server",
        choices=SERVERS,
        default="uvicorn",
        help="the HTTP server: uvicorn (the default) or fast (localfactory.twins.fastserve)",
    )
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
    port = manifest.default_port if args.port is None else args.port
    base = manifest.base_path or "/"
    print(
        f"{manifest.name} twin: http://{args.host}:{port}{base} "
        f"(admin http://{args.host}:{port}/_twin/, snapshots in {app.snapshot_dir})",
        file=sys.stderr,
        flush=True,
    )
    if args.server == "uvicorn":
        import uvicorn

        uvicorn.Server(uvicorn_config(app, args.host, port, args.log_level)).run()
        return
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s: %(message)s")
    try:
        run_fast(TwinServer(app, args.host, port))
    except OSError as exc:  # the port is taken, or the address is not this machine's
        print(f"localfactory: cannot listen on {args.host}:{port}: {exc.strerror}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
