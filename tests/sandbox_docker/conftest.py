"""The Docker sandbox tests share one image, built on first use (about half a minute, once per engine)."""

from __future__ import annotations

import os

import pytest

from localfactory.config import load_settings
from localfactory.errors import UserError
from localfactory.sandbox.docker_image import SandboxImage


@pytest.fixture(scope="session")
def image() -> SandboxImage:
    """The sandbox image, built on first use; skipped where no engine answers (failed in CI)."""
    image = SandboxImage(load_settings().twins)
    try:
        image.ready()
    except UserError as exc:
        if not exc.message.startswith("No Docker engine is reachable"):
            raise
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the Docker sandbox tests to run: {exc}", pytrace=False)
        pytest.skip(str(exc))
    return image
