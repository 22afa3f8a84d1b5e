"""Fixtures shared by every test: isolated settings, and the real test model for integration tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from localfactory.config import LLMSettings, ModelsSettings, Settings, StoreSettings
from localfactory.errors import ModelNotFound

TEST_MODEL = "qwen2.5-coder-0.5b"
"""The small model `make test` installs before running the tests."""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings that touch nothing outside ``tmp_path`` (model cache, run store)."""
    return Settings(
        models=ModelsSettings(cache_dir=tmp_path / "models"),
        store=StoreSettings(path=tmp_path / "runs.db"),
        project_dir=tmp_path,
    )


@dataclass(frozen=True)
class RealModel:
    """An installed, verified model and settings that point at it."""

    name: str
    path: Path
    settings: Settings


@pytest.fixture(scope="session")
def real_model() -> RealModel:
    """The installed test model (Qwen2.5-Coder-0.5B) from the default model cache.

    A missing model fails the test (it is never skipped): `make test` installs it first.
    The context is kept at 4096 tokens so that tests stay light.
    """
    from localfactory.models import catalog

    settings = Settings(llm=LLMSettings(context_length=4096, max_tokens=64))
    try:
        path = catalog.installed_gguf(TEST_MODEL, settings)
    except ModelNotFound:
        pytest.fail(
            f"The integration tests need the model {TEST_MODEL}, which is not installed in "
            f"{catalog.cache_dir(settings)}: run `make test` (it installs the model).",
            pytrace=False,
        )
    return RealModel(name=TEST_MODEL, path=path, settings=settings)
