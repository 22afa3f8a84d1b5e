"""Shared bits of the CLI: the settings of this invocation, and console output."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localfactory.config import Settings


@lru_cache(maxsize=1)
def settings() -> Settings:
    from localfactory.config import load_settings

    return load_settings()
