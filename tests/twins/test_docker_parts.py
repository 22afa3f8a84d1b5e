"""The parts of Docker mode that need no engine: mirrors, wheels, and the no-engine message."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from localfactory.errors import UserError
from localfactory.twins.docker_base import debian_mirror
from localfactory.twins.docker_wheels import ImagePython, localfactory_wheel
from localfactory.twins.engine import connect, engine_version

NOWHERE = "unix:///nonexistent/docker.sock"


def test_mirror_is_read_from_apt_sources_in_either_format(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text("# deb http://commented.example/debian bookworm main\n")
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.local/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb deb-src\nURIs: http://mirror.local/debian/\nSuites: bookworm bookworm-updates\n"
    )
    assert debian_mirror(None, tmp_path) == "http://mirror.local/debian"
    (tmp_path / "sources.list").write_text(
        "deb [signed-by=/k.gpg] http://one-line.local/debian bookworm main\n"
    )
    assert debian_mirror(None, tmp_path) == "http://one-line.local/debian"
    assert debian_mirror("http://chosen.local/debian", tmp_path) == "http://chosen.local/debian"


def test_no_mirror_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text("deb http://archive.ubuntu.local/ubuntu noble main\n")
    with pytest.raises(UserError, match="no Debian package mirror") as raised:
        debian_mirror(None, tmp_path)
    assert "debian_mirror under [twins]" in str(raised.value)


def test_platform_tags_cover_older_manylinux_wheels() -> None:
    tags = ImagePython(3, 11, "2.36", "x86_64").platforms
    assert tags[0] == "manylinux_2_36_x86_64"
    assert {"manylinux_2_28_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"} <= set(tags)
    assert "manylinux_2_37_x86_64" not in tags
    assert ImagePython(3, 12, "2.17", "aarch64").abi == "cp312"


def test_localfactory_wheel_is_reproducible_and_carries_the_twins(tmp_path: Path) -> None:
    first = localfactory_wheel(tmp_path / "a")
    second = localfactory_wheel(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()  # so an unchanged build hits Docker's cache
    with zipfile.ZipFile(first) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read("localfactory-0.1.0.dist-info/METADATA").decode()
        record = wheel.read("localfactory-0.1.0.dist-info/RECORD").decode().splitlines()
        for line in record[:-1]:
            name, digest, size = line.rsplit(",", 2)
            data = wheel.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == f"sha256={expected.decode()}" and int(size) == len(data)
    assert {"localfactory/twins/serve.py", "localfactory/_bundled/twins/slack/twin.toml"} <= names
    assert not any("__pycache__" in n for n in names)
    assert "Requires-Dist" not in metadata  # llama-cpp-python and friends stay out of images


def test_localfactory_wheel_installs_and_finds_its_twins(tmp_path: Path) -> None:
    wheel = localfactory_wheel(tmp_path / "wheels")
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps"]
    subprocess.run([*pip, "--target", str(target), str(wheel)], check=True, timeout=120)
    probe = "from localfactory.twins.catalog import all_twins; print(sorted(all_twins()))"
    found = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {probe}"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert found.returncode == 0, found.stderr
    assert "'slack'" in found.stdout and "'github'" in found.stdout


def test_no_engine_is_one_clear_sentence() -> None:
    assert engine_version(NOWHERE, timeout=1) is None
    with pytest.raises(UserError) as raised:
        connect(NOWHERE)
    assert (
        raised.value.message
        == f"No Docker engine is reachable at {NOWHERE}; start one, or use --local."
    )


def test_build_without_an_engine_says_so(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "localfactory", "twin", "build", "slack"],
        env={**os.environ, "LOCALFACTORY_TWINS__DOCKER_HOST": NOWHERE},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"No Docker engine is reachable at {NOWHERE}; start one, or use --local." in done.stderr
    assert "Traceback" not in done.stderr
