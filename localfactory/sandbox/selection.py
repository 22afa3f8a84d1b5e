"""Which sandbox the factory runs generated code in: ``factory.sandbox`` in the settings.

The CLI and the benchmark build their :class:`~localfactory.factory.engine.Factory` with
:func:`sandbox_maker`, and call :func:`prepare` before a run starts, so that a missing
Docker engine is said at once (not after the model has written the tests) and the
Docker image is built before the first check rather than during it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from localfactory.sandbox.base import Limits, Sandbox
from localfactory.sandbox.local import LocalSandbox

if TYPE_CHECKING:
    from localfactory.config import Settings

MakeSandbox = Callable[[Path, Limits], Sandbox]


def sandbox_maker(settings: Settings, say: Callable[[str], None] = print) -> MakeSandbox:
    """What ``settings.factory.sandbox`` names, as the factory's ``make_sandbox``."""
    if settings.factory.sandbox == "docker":
        from localfactory.sandbox.docker import DockerSandboxes, shared_image

        return DockerSandboxes(shared_image(settings.twins, say))
    return LocalSandbox


def prepare(make_sandbox: MakeSandbox) -> None:
    """Do now what the first run would do slowly or fail at (Docker: the engine, the image)."""
    from localfactory.sandbox.docker import DockerSandboxes

    if isinstance(make_sandbox, DockerSandboxes):
        make_sandbox.prepare()
