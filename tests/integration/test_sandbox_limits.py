"""The local sandbox on this machine: each runaway is contained and reported, nothing is left behind.

Every bomb is bounded by itself too (a fixed number of forks or allocations, sleeps that
end), so even a failed limit cannot take the machine down.
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from localfactory.sandbox import Limits, LocalSandbox, RunResult, SandboxError

pytestmark = pytest.mark.integration

TIGHT = Limits(wall_time_s=3, memory_mb=256, max_processes=32, output_kb=8, output_kill_mb=2)


@pytest.fixture
def sandbox(tmp_path: Path) -> LocalSandbox:
    return LocalSandbox(tmp_path, TIGHT)


def _python(sandbox: LocalSandbox, code: str, **kwargs: object) -> RunResult:
    return sandbox.run([sys.executable, "-c", textwrap.dedent(code)], **kwargs)  # type: ignore[arg-type]


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_passing_command(sandbox: LocalSandbox) -> None:
    result = _python(sandbox, "import sys; print('hello'); print('oops', file=sys.stderr)")
    assert result.ok
    assert (result.exit_code, result.stdout, result.stderr) == (0, "hello\n", "oops\n")
    assert result.duration_s < 3


def test_a_failing_command_keeps_its_exit_code(sandbox: LocalSandbox) -> None:
    result = _python(sandbox, "raise SystemExit(3)")
    assert (result.exit_code, result.limit, result.ok) == (3, None, False)
    assert "failed with exit code 3" in result.reason()


def test_infinite_loop_is_killed_on_time(sandbox: LocalSandbox) -> None:
    started = time.monotonic()
    result = _python(sandbox, "while True: pass")
    assert time.monotonic() - started < 8
    assert result.timed_out and result.limit == "time"
    assert "running out of time" in result.reason()


def test_fork_bomb_is_stopped_by_the_process_limit(sandbox: LocalSandbox) -> None:
    marker = uuid.uuid4().hex
    code = f"""
        # {marker}
        import os, time
        for _ in range(300):          # bounded even if the limit failed
            if os.fork() == 0:
                time.sleep(15)
                os._exit(0)
    """
    result = _python(sandbox, code)
    assert result.limit == "processes"
    assert "process limit" in result.reason()
    time.sleep(0.2)
    assert _processes_with(marker) == []


def test_memory_bomb_is_stopped_by_the_memory_limit(sandbox: LocalSandbox) -> None:
    result = _python(sandbox, "x = [bytearray(32 * 2**20) for _ in range(64)]  # at most 2 GiB")
    assert result.limit == "memory"
    assert not result.ok
    assert "memory limit" in result.reason()


def test_output_flood_is_cut_and_killed(sandbox: LocalSandbox) -> None:
    result = _python(sandbox, "for _ in range(10**6): print('x' * 200)")
    assert result.limit == "output"
    assert len(result.stdout) < 9 * 1024
    assert result.stdout_cut > 2 * 2**20 - 9 * 1024
    assert "bytes cut by the sandbox's output limit" in result.stdout


def test_long_output_keeps_head_and_tail(sandbox: LocalSandbox) -> None:
    result = _python(sandbox, "print('FIRST'); print('m' * 50000); print('LAST')")
    assert result.ok
    assert result.stdout.startswith("FIRST") and result.stdout.rstrip().endswith("LAST")
    assert result.stdout_cut > 40000


def test_network_attempt_fails_inside_an_empty_namespace(sandbox: LocalSandbox) -> None:
    probe = _python(sandbox, "pass")
    if any("network not isolated" in w for w in probe.warnings):
        pytest.skip("no network namespace on this machine: a connect attempt would leave it")
    # 192.0.2.1 is a documentation address; inside the empty namespace nothing can leave.
    code = """
        import socket
        socket.create_connection(("192.0.2.1", 80), timeout=3)
    """
    result = _python(sandbox, code)
    assert result.exit_code == 1
    assert "Network is unreachable" in result.stderr
    assert "tried to use the network" in result.reason()


def test_loopback_works_inside_the_sandbox(sandbox: LocalSandbox) -> None:
    code = """
        import socket, threading
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        threading.Thread(target=lambda: server.accept()[0].sendall(b"pong"), daemon=True).start()
        print(socket.create_connection(server.getsockname(), timeout=3).recv(4).decode())
    """
    result = _python(sandbox, code)
    assert result.ok, result.stderr
    assert result.stdout == "pong\n"


def test_escaped_background_process_is_killed_after_the_run(sandbox: LocalSandbox) -> None:
    marker = uuid.uuid4().hex
    code = f"""
        # {marker}
        import os, time
        if os.fork() == 0:
            os.setsid()
            time.sleep(30)
            os._exit(0)
        print("parent done")
    """
    result = _python(sandbox, code)
    assert result.ok
    time.sleep(0.2)
    assert _processes_with(marker) == []


def test_writes_are_confined_to_the_workspace(sandbox: LocalSandbox, tmp_path: Path) -> None:
    outside = tmp_path.parent / f"outside-{uuid.uuid4().hex}"
    code = f"""
        open("inside.txt", "w").write("ok")
        open({str(outside)!r}, "w").write("escaped")
    """
    result = _python(sandbox, code)
    if any("writable" in w for w in result.warnings):
        pytest.skip("this machine cannot make the filesystem read-only for the sandbox")
    assert (tmp_path / "inside.txt").read_text() == "ok"
    assert not outside.exists()
    assert "Read-only file system" in result.stderr


def test_pytest_runs_inside_the_sandbox(sandbox: LocalSandbox, tmp_path: Path) -> None:
    (tmp_path / "test_it.py").write_text(
        "def test_ok(tmp_path):\n    (tmp_path / 'f').write_text('x')\n\n"
        "def test_bad():\n    assert 1 == 2\n"
    )
    result = sandbox.run(
        [sys.executable, "-m", "pytest", "-q", "--tb=short", "-p", "no:cacheprovider"],
        limits=Limits(wall_time_s=60),
    )
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "1 failed, 1 passed" in result.stdout


def test_stdin_env_and_cwd(sandbox: LocalSandbox, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    code = "import os, sys; print(sys.stdin.read().upper(), os.getcwd(), os.environ['GREETING'])"
    result = _python(sandbox, code, stdin="abc", env={"GREETING": "hi"}, cwd="sub")
    assert result.stdout.split() == ["ABC", str(tmp_path / "sub"), "hi"]
    assert "SECRET_TOKEN" not in _python(sandbox, "import os; print(dict(os.environ))").stdout


def test_missing_command_is_a_start_error(sandbox: LocalSandbox) -> None:
    result = sandbox.run(["no-such-command-anywhere"])
    assert result.exit_code == 127
    assert result.start_error is not None and "no-such-command-anywhere" in result.start_error
    assert "could not start" in result.reason()


def test_working_folder_outside_the_workspace_is_refused(sandbox: LocalSandbox) -> None:
    with pytest.raises(SandboxError):
        sandbox.run(["true"], cwd="..")


@pytest.fixture(autouse=True)
def _secret_in_parent_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "do-not-leak")
    assert os.environ["SECRET_TOKEN"]
