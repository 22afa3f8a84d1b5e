"""The Docker sandbox without an engine: the command line it runs, and what it says when no engine answers."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest

from localfactory.config import FactorySettings, Settings, TwinsSettings
from localfactory.errors import UserError
from localfactory.sandbox import LocalSandbox
from localfactory.sandbox.docker import DockerSandbox, DockerSandboxes, container_argv
from localfactory.sandbox.docker_image import PYTHON, SandboxImage, installed_pins
from localfactory.sandbox.selection import prepare, sandbox_maker

HOST_PYTHON = "/home/dev/project/.venv/bin/python"


def test_the_host_interpreter_becomes_the_containers_python() -> None:
    argv = [HOST_PYTHON, "-m", "pytest", "-q", "tests/test_it.py"]
    assert container_argv(argv, host_python=HOST_PYTHON) == [
        PYTHON, "-m", "pytest", "-q", "tests/test_it.py",
    ]  # fmt: skip


def test_the_interpreter_is_mapped_wherever_it_is_an_argument() -> None:
    argv = ["mypy", "--python-executable", HOST_PYTHON, "code.py"]
    assert container_argv(argv, host_python=HOST_PYTHON) == [
        "mypy", "--python-executable", PYTHON, "code.py",
    ]  # fmt: skip


def test_a_tool_from_the_host_environment_becomes_the_containers_tool() -> None:
    assert container_argv(["/home/dev/project/.venv/bin/ruff", "check", "."], HOST_PYTHON) == [
        "/opt/sandbox/bin/ruff", "check", ".",
    ]  # fmt: skip


def test_other_commands_and_lookalike_arguments_are_left_alone() -> None:
    argv = ["sh", "-c", f"{HOST_PYTHON} -V", "/usr/bin/python3", "python"]
    assert container_argv(argv, host_python=HOST_PYTHON) == argv


def test_only_the_images_tools_are_taken_from_the_interpreters_folder() -> None:
    # An interpreter outside a virtual environment shares /usr/bin with everything else.
    system = "/usr/bin/python3.11"
    assert container_argv(["/usr/bin/git", "status"], system) == ["/usr/bin/git", "status"]
    assert container_argv(["/usr/bin/mypy", "x.py"], system) == ["/opt/sandbox/bin/mypy", "x.py"]


def test_this_processs_own_interpreter_is_mapped() -> None:
    assert container_argv([sys.executable, "-V"]) == [PYTHON, "-V"]


def test_the_image_pins_the_tools_and_their_dependencies_as_installed_here() -> None:
    pins = installed_pins()
    for name in ("pytest", "ruff", "mypy", "pluggy"):
        assert pins[name].lower() == f"{name}=={metadata.version(name)}".lower()


def _no_engine_settings(tmp_path: Path) -> TwinsSettings:
    return TwinsSettings(docker_host=f"unix://{tmp_path}/no-docker.sock")


def test_no_engine_is_one_clear_sentence_saying_how_to_start_one(tmp_path: Path) -> None:
    sandbox = DockerSandbox(tmp_path, image=SandboxImage(_no_engine_settings(tmp_path)))
    with pytest.raises(UserError) as caught:
        sandbox.run([sys.executable, "-c", "pass"])
    text = str(caught.value)
    assert f"No Docker engine is reachable at unix://{tmp_path}/no-docker.sock" in text
    assert "start one with: python -m localfactory.twins.engine ensure" in text.lower()
    assert 'sandbox = "local"' in text


def test_factory_settings_choose_the_sandbox(tmp_path: Path) -> None:
    local = Settings(project_dir=tmp_path)
    assert sandbox_maker(local) is LocalSandbox
    prepare(sandbox_maker(local))  # nothing to do, and nothing fails

    docker = Settings(
        project_dir=tmp_path,
        factory=FactorySettings(sandbox="docker"),
        twins=_no_engine_settings(tmp_path),
    )
    maker = sandbox_maker(docker)
    assert isinstance(maker, DockerSandboxes)
    with pytest.raises(UserError, match="No Docker engine is reachable"):
        prepare(maker)  # said before a run starts, not at its first check


def test_an_unknown_sandbox_is_refused() -> None:
    with pytest.raises(ValueError, match="sandbox"):
        FactorySettings(sandbox="podman")  # type: ignore[arg-type]
