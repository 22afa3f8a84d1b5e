"""Where localfactory keeps things: XDG directories, overridable by environment."""

from __future__ import annotations

import os
from pathlib import Path

APP = "localfactory"


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var)
    if value and Path(value).is_absolute():
        return Path(value) / APP
    return Path.home() / default / APP


def config_dir() -> Path:
    """The user's config directory (``$XDG_CONFIG_HOME/localfactory``)."""
    return _xdg("XDG_CONFIG_HOME", ".config")


def user_config_file() -> Path:
    return config_dir() / "config.toml"


def cache_dir() -> Path:
    """The user's cache directory (``$XDG_CACHE_HOME/localfactory``): assembled models live here."""
    return _xdg("XDG_CACHE_HOME", ".cache")


def data_dir() -> Path:
    """The user's data directory (``$XDG_DATA_HOME/localfactory``)."""
    return _xdg("XDG_DATA_HOME", ".local/share")


PROJECT_CONFIG_NAME = "localfactory.toml"


def find_project_config(start: Path | None = None) -> Path | None:
    """The nearest ``localfactory.toml`` at or above ``start`` (default: the working directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def source_root() -> Path | None:
    """The checkout this package runs from, when it runs from one (editable installs)."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "models").is_dir():
        return root
    return None
