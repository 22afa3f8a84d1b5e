"""The Docker sandbox on a real engine: each runaway is contained and reported as the local one reports it.

Needs a Docker engine (``python -m localfactory.twins.engine ensure`` starts one). Without
one these tests are skipped, except under CI (``CI=true``), where they fail. The first
test builds the sandbox image (about half a minute, once per engine; the base image,
when missing, takes a few minutes more). Every bomb is bounded by itself too, so a limit
that failed could not take the machine down.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from localfactory.sandbox import Limits, RunResult
from localfactory.sandbox.docker import DockerSandbox
from localfactory.sandbox.docker_image import SANDBOX_LABEL, SandboxImage

pytestmark = [pytest.mark.docker, pytest.mark.integration]

TIGHT = Limits(wall_time_s=5, memory_mb=256, max_processes=32, output_kb=8, output_kill_mb=2)


@pytest.fixture
def sandbox(image: SandboxImage, tmp_path: Path) -> Iterator[DockerSandbox]:
    yield DockerSandbox(tmp_path, TIGHT, image=image)
    client, _ = image.ready()
    left = client.containers.list(all=True, filters={"label": SANDBOX_LABEL})
    assert left == [], "a sandbox container was left behind"


def _python(sandbox: DockerSandbox, code: str, **kwargs: object) -> RunResult:
    return sandbox.run([sys.executable, "-c", textwrap.dedent(code)], **kwargs)  # type: ignore[arg-type]


def test_pytest_run_in_the_workspace_reports_host_paths(
    sandbox: DockerSandbox, tmp_path: Path
) -> None:
    (tmp_path / "test_it.py").write_text(
        "def test_ok(tmp_path):\n    (tmp_path / 'f').write_text('x')\n\n"
        "def test_bad():\n    assert __file__ == 'elsewhere'\n"
    )
    result = sandbox.run(
        [sys.executable, "-m", "pytest", "-q", "--tb=short", "-p", "no:cacheprovider",
         "--junitxml=.sandbox/junit.xml"],
        limits=Limits(wall_time_s=60),
    )  # fmt: skip
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.limit is None
    assert "1 failed, 1 passed" in result.stdout
    assert str(tmp_path / "test_it.py") in result.stdout  # the host's path: no mapping needed
    assert "<testsuite" in (tmp_path / ".sandbox" / "junit.xml").read_text()


def test_the_checks_tools_are_the_versions_installed_here(sandbox: DockerSandbox) -> None:
    for tool in ("pytest", "ruff", "mypy"):
        result = sandbox.run([sys.executable, "-m", tool, "--version"])
        assert result.ok, result.stderr
        assert metadata.version(tool) in result.stdout + result.stderr


def test_infinite_loop_is_killed_on_time(sandbox: DockerSandbox) -> None:
    started = time.monotonic()
    result = _python(sandbox, "while True: pass")
    assert time.monotonic() - started < TIGHT.wall_time_s + 5
    assert result.timed_out and result.limit == "time"
    assert (result.exit_code, result.signal) == (None, signal.SIGKILL)
    assert "running out of time" in result.reason()


def test_memory_bomb_is_stopped_by_the_memory_limit(sandbox: DockerSandbox) -> None:
    result = _python(sandbox, "x = [bytearray(32 * 2**20) for _ in range(64)]  # at most 2 GiB")
    assert result.limit == "memory"
    assert not result.ok
    assert "memory limit" in result.reason()


def test_memory_bomb_of_many_small_processes_is_stopped_too(sandbox: DockerSandbox) -> None:
    # Each process stays under the per-process limit; together they pass the container's.
    code = """
        import os, time
        for _ in range(12):
            if os.fork() == 0:
                x = bytearray(40 * 2**20)
                x[::4096] = b"x" * len(x[::4096])   # touch every page
                time.sleep(2)
                os._exit(0)
        for _ in range(12):
            os.wait()
    """
    result = _python(sandbox, code)
    assert result.limit == "memory", result
    assert "memory limit" in result.reason()


def test_fork_bomb_is_stopped_by_the_process_limit(sandbox: DockerSandbox) -> None:
    code = """
        import os, time
        for _ in range(300):          # bounded even if the limit failed
            if os.fork() == 0:
                time.sleep(15)
                os._exit(0)
    """
    started = time.monotonic()
    result = _python(sandbox, code)
    assert result.limit == "processes", result
    assert "process limit" in result.reason()
    assert time.monotonic() - started < 10  # the sleeping children died with the container


def test_network_attempts_fail_inside(sandbox: DockerSandbox) -> None:
    # A server on the host's loopback: the container has a loopback of its own, so the
    # host's is out of reach; and there is no route anywhere else.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        local = _python(
            sandbox, f"import socket; socket.create_connection(('127.0.0.1', {port}), 3)"
        )
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing ever connected
    outside = _python(sandbox, "import socket; socket.create_connection(('192.0.2.1', 80), 3)")
    assert local.exit_code == 1 and "ConnectionRefusedError" in local.stderr
    assert outside.exit_code == 1
    assert "Network is unreachable" in outside.stderr
    assert "tried to use the network" in outside.reason()


def test_loopback_works_inside(sandbox: DockerSandbox) -> None:
    code = """
        import socket, threading
        server = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=lambda: server.accept()[0].sendall(b"pong"), daemon=True).start()
        print(socket.create_connection(server.getsockname(), timeout=3).recv(4).decode())
    """
    result = _python(sandbox, code)
    assert result.ok, result.stderr
    assert result.stdout == "pong\n"


def test_writes_are_confined_to_the_workspace(sandbox: DockerSandbox, tmp_path: Path) -> None:
    outside = tmp_path.parent / f"outside-{uuid.uuid4().hex}"
    package = Path(__file__).resolve().parents[2] / "localfactory" / f"{uuid.uuid4().hex}.py"
    code = f"""
        import pathlib
        pathlib.Path("inside.txt").write_text("ok")
        for target in ({str(outside)!r}, "/tmp/escaped", "/etc/escaped", {str(package)!r}):
            try:
                pathlib.Path(target).write_text("escaped")
                print("WROTE", target)
            except OSError as exc:
                print("refused", exc.strerror)
    """
    result = _python(sandbox, code)
    assert result.ok, result.stderr
    assert (tmp_path / "inside.txt").read_text() == "ok"
    assert "WROTE" not in result.stdout
    assert result.stdout.count("refused") == 4
    assert not outside.exists() and not package.exists()


def test_the_command_is_not_root_and_the_workspace_stays_its_owners(
    sandbox: DockerSandbox, tmp_path: Path
) -> None:
    (tmp_path / "given.txt").write_text("before")
    result = _python(
        sandbox, "import os; open('given.txt', 'a').write(' after'); print(os.getuid())"
    )
    assert result.ok, result.stderr
    assert int(result.stdout) != 0
    owner = tmp_path.stat()
    for path in (tmp_path / "given.txt", tmp_path / ".sandbox", tmp_path / ".sandbox" / "home"):
        assert (path.stat().st_uid, path.stat().st_gid) == (owner.st_uid, owner.st_gid)
    assert (tmp_path / "given.txt").read_text() == "before after"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root lends its workspaces")
def test_a_workspace_left_lent_by_a_killed_supervisor_is_given_back(
    sandbox: DockerSandbox, tmp_path: Path
) -> None:
    (tmp_path / "code.py").write_text("x = 1\n")
    for path in (tmp_path, tmp_path / "code.py"):
        os.chown(path, 65534, 65534)  # as a supervisor killed mid-run would leave it
    result = _python(sandbox, "import os; print(os.getuid())")
    assert result.ok, result.stderr
    assert result.stdout.strip() == "65534"
    assert tmp_path.stat().st_uid == (tmp_path / "code.py").stat().st_uid == 0


def test_output_flood_is_cut_and_killed(sandbox: DockerSandbox) -> None:
    result = _python(sandbox, "for _ in range(10**6): print('x' * 200)")
    assert result.limit == "output"
    assert len(result.stdout) < 9 * 1024
    assert "bytes cut by the sandbox's output limit" in result.stdout


def test_exit_codes_signals_and_start_errors_mean_what_they_do_locally(
    sandbox: DockerSandbox,
) -> None:
    failed = _python(sandbox, "import sys; print('oops', file=sys.stderr); raise SystemExit(3)")
    assert (failed.exit_code, failed.signal, failed.stderr) == (3, None, "oops\n")
    assert "failed with exit code 3" in failed.reason()
    crashed = _python(sandbox, "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    assert (crashed.exit_code, crashed.signal) == (None, signal.SIGSEGV)
    missing = sandbox.run(["no-such-command-anywhere"])
    assert missing.exit_code == 127
    assert missing.start_error is not None and "no-such-command-anywhere" in missing.start_error


def test_stdin_env_and_cwd(
    sandbox: DockerSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "do-not-leak")
    (tmp_path / "sub").mkdir()
    code = "import os, sys; print(sys.stdin.read().upper(), os.getcwd(), os.environ['GREETING'])"
    result = _python(sandbox, code, stdin="abc", env={"GREETING": "hi"}, cwd="sub")
    assert result.stdout.split() == ["ABC", str(tmp_path / "sub"), "hi"]
    assert "SECRET_TOKEN" not in _python(sandbox, "import os; print(dict(os.environ))").stdout
