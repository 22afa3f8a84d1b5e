"""Finding and loading twins: the shipped ones, and the user's own.

Each twin lives in its own folder under the checkout's ``twins/`` (or the copy bundled
in the wheel, ``localfactory/_bundled/twins``), or under the user's twins folder
(``$XDG_DATA_HOME/localfactory/user-twins``, where ``localfactory twin new`` writes when
localfactory does not run from a checkout): a ``twin.toml`` describing it and a
Python package whose ``build()`` returns the declared :class:`~localfactory.twins.core.Twin`.
The package is imported from its folder under the name ``localfactory_twin_<name>``,
so a twin's modules can import each other relatively.
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from localfactory import locations
from localfactory.errors import UserError

if TYPE_CHECKING:
    from localfactory.twins.core import Twin

MANIFEST = "twin.toml"


class TwinNotFound(UserError):
    """No shipped twin has the name asked for."""


class TwinManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    """The twin's name on the command line (``localfactory twin up slack``)."""

    title: str
    """What it imitates, in a few words."""

    description: str = ""
    """A sentence or two on what is covered."""

    default_port: int = Field(ge=1024, le=65535)
    """The loopback port ``twin up`` uses when no ``--port`` is given."""

    base_path: str = ""
    """Where the service's API starts (``/api/`` for Slack); clients point their base URL here."""

    sdk: str = ""
    """The official SDK the twin is verified with."""

    folder: Path = Field(default=Path(), exclude=True)


def shipped_twin_dirs() -> list[Path]:
    root = locations.source_root()
    if root is not None:
        return [root / "twins"]
    return [Path(__file__).resolve().parent.parent / "_bundled" / "twins"]


def is_shipped(manifest: TwinManifest) -> bool:
    """Whether the twin comes with localfactory (else it is one of the user's own)."""
    folder = manifest.folder.resolve()
    return any(folder.is_relative_to(d.resolve()) for d in shipped_twin_dirs())


def user_twin_dir() -> Path:
    """The user's own twins (made with ``localfactory twin new``), one folder each."""
    return locations.data_dir() / "user-twins"


def twin_dirs() -> list[Path]:
    """Where twins are looked for: the shipped ones first, then the user's."""
    return [*shipped_twin_dirs(), user_twin_dir()]


def all_twins(dirs: list[Path] | None = None) -> dict[str, TwinManifest]:
    """Every twin found, by name; an earlier folder shadows a later twin of the same name."""
    found: dict[str, TwinManifest] = {}
    for folder in dirs if dirs is not None else twin_dirs():
        if not folder.is_dir():
            continue
        for manifest_path in sorted(folder.glob(f"*/{MANIFEST}")):
            manifest = _read_manifest(manifest_path)
            found.setdefault(manifest.name, manifest)
    return found


def get_twin(name: str, dirs: list[Path] | None = None) -> TwinManifest:
    twins = all_twins(dirs)
    try:
        return twins[name]
    except KeyError:
        known = ", ".join(sorted(twins)) or "(none)"
        raise TwinNotFound(
            f"No twin named {name!r} is shipped or in {user_twin_dir()}.",
            hint=f"Known twins: {known}. `localfactory twin list` shows them.",
        ) from None


def load_twin(manifest: TwinManifest) -> Twin:
    """Import the twin's package from its folder and build its declaration."""
    module_name = f"localfactory_twin_{manifest.name.replace('-', '_')}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(
            module_name,
            manifest.folder / "__init__.py",
            submodule_search_locations=[str(manifest.folder)],
        )
        if spec is None or spec.loader is None:
            raise UserError(f"The {manifest.name} twin in {manifest.folder} has no Python package.")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
    twin: Twin = module.build()
    return twin


def read_manifest(folder: Path) -> TwinManifest:
    """The manifest of the twin in ``folder`` (its ``twin.toml``)."""
    return _read_manifest(folder / MANIFEST)


def _read_manifest(path: Path) -> TwinManifest:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"Cannot read the twin manifest {path}: {exc}.") from None
    try:
        manifest = TwinManifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"The twin manifest {path} has a bad {where!r}: {first['msg']}.") from None
    manifest.folder = path.parent
    return manifest
