"""The sandbox's first process: confines itself, then runs the command. Standard library only.

Run as ``python -I -S launcher.py CONFIG_JSON -- ARGV...`` by :class:`LocalSandbox`, never
imported by the package (it must start fast and must not depend on anything). In order:

1. die with the supervisor (``PR_SET_PDEATHSIG``) and join the run's cgroups;
2. unshare namespaces: network (an empty one with only loopback, brought up), pid (so
   the whole tree dies with its init), mount (everything outside the workspace read-only),
   and a user namespace first when not root;
3. fork the namespace's init, which forks the command, reaps orphans and reports the
   command's exit status on the status pipe; when init exits, the kernel kills the rest;
4. in the command's process: resource limits, no capabilities, no new privileges, exec.

Every step that the system refuses is reported as a warning on the status pipe (one JSON
object per line) and the run goes on with what did work.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import resource
import signal
import socket
import struct
import sys
from typing import Any, NoReturn

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP, IFF_RUNNING = 0x8913, 0x8914, 0x1, 0x40
_FLAG_OPTS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}
_KEEP_WRITABLE = ("/dev",)

libc = ctypes.CDLL(None, use_errno=True)


def report(fd: int, **message: object) -> None:
    with contextlib.suppress(OSError):
        os.write(fd, (json.dumps(message) + "\n").encode())


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int, what: str) -> None:
    _check(libc.unshare(ctypes.c_int(flags)), what)


def join_cgroups(paths: list[str], fd: int) -> None:
    for path in paths:
        try:
            with open(os.path.join(path, "cgroup.procs"), "w") as fh:
                fh.write(str(os.getpid()))
        except OSError as exc:
            report(fd, warning=f"could not join the cgroup {path}: {exc.strerror}")


def map_user(uid: int, gid: int) -> None:
    """Inside a new user namespace: be root there, the same user outside."""
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as fh:
            fh.write(text)


def loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        ifreq = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, ifreq))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP | IFF_RUNNING))


def _mount(source: str | None, target: str, flags: int) -> None:
    src = source.encode() if source else None
    _check(libc.mount(src, target.encode(), None, ctypes.c_ulong(flags), None), f"mount {target}")


def _mount_points() -> list[tuple[str, int]]:
    points = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")
            flags = 0
            for opt in fields[5].split(","):
                flags |= _FLAG_OPTS.get(opt, 0)
            points.append((point, flags))
    return points


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def read_only_outside(workspace: str, fd: int) -> None:
    """Make every mount read-only except the workspace (bound onto itself) and /dev."""
    _mount(None, "/", MS_REC | MS_PRIVATE)
    _mount(workspace, workspace, MS_BIND | MS_REC)
    failed = []
    for point, flags in _mount_points():
        if _under(point, workspace) or any(_under(point, keep) for keep in _KEEP_WRITABLE):
            continue
        try:
            _mount(None, point, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
        except OSError:
            failed.append(point)
    if failed:
        report(fd, warning="these mounts stay writable: " + ", ".join(failed[:5]))


def set_limits(limits: dict[str, int]) -> None:
    for name, value in limits.items():
        kind = getattr(resource, name)
        _, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))


def drop_privileges() -> None:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as fh:
            last = int(fh.read())
    except OSError:
        last = 40
    for cap in range(last + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def run_command(config: dict[str, Any], argv: list[str], fd: int) -> NoReturn:
    """In the command's own process: limits, privileges, then exec. Never returns."""
    try:
        os.set_inheritable(fd, False)
        set_limits(config["rlimits"])
        if os.geteuid() == 0 or config["userns"]:
            drop_privileges()
        os.chdir(config["cwd"])
        os.execvpe(argv[0], argv, config["env"])
    except OSError as exc:
        report(fd, error=f"cannot start {argv[0]!r}: {exc.strerror or exc}")
    os._exit(127)


def be_init(config: dict[str, Any], argv: list[str], fd: int) -> NoReturn:
    """Pid 1 of the run's pid namespace: start the command, reap everything, report its status."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    pid = os.fork()
    if pid == 0:
        run_command(config, argv, fd)
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(1)
        if done == pid:
            break
    report_status(fd, status)
    os._exit(_exit_code(status))


def _exit_code(status: int) -> int:
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def report_status(fd: int, status: int) -> None:
    if os.WIFSIGNALED(status):
        report(fd, exit=None, signal=os.WTERMSIG(status))
    else:
        report(fd, exit=os.WEXITSTATUS(status), signal=None)


def main() -> None:
    config = json.loads(sys.argv[1])
    argv = sys.argv[3:]
    fd = config["status_fd"]
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != config["supervisor_pid"]:
        os._exit(1)
    join_cgroups(config["cgroups"], fd)
    root = os.geteuid() == 0
    config["userns"] = False
    if not root:
        try:
            uid, gid = os.geteuid(), os.getegid()
            unshare(CLONE_NEWUSER, "user namespace")
            map_user(uid, gid)
            config["userns"] = True
        except OSError as exc:
            report(fd, warning=f"no user namespace ({exc.strerror}): running without isolation")
    can_isolate = root or config["userns"]
    if config["isolate_network"]:
        try:
            if not can_isolate:
                raise OSError(1, "needs root or a user namespace")
            unshare(CLONE_NEWNET, "network namespace")
            loopback_up()
            report(fd, network="isolated")
        except OSError as exc:
            report(
                fd,
                warning=f"network not isolated ({exc.strerror}): the command can reach the network",
            )
    if config["read_only_outside"] and can_isolate:
        try:
            unshare(CLONE_NEWNS, "mount namespace")
            read_only_outside(config["workspace"], fd)
        except OSError as exc:
            report(fd, warning=f"files outside the workspace stay writable ({exc.strerror})")
    try:
        if not can_isolate:
            raise OSError(1, "needs root or a user namespace")
        unshare(CLONE_NEWPID, "pid namespace")
    except OSError as exc:
        report(
            fd, warning=f"no pid namespace ({exc.strerror}): stray processes are killed by group"
        )
        run_command(config, argv, fd)
    child = os.fork()
    if child == 0:
        be_init(config, argv, fd)
    _, status = os.waitpid(child, 0)
    os._exit(_exit_code(status))


if __name__ == "__main__":
    main()
