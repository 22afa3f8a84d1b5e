"""The spec: what a person asks the factory to build, as a validated pydantic model.

A spec file is Markdown with YAML front matter (see ``docs`` in :mod:`localfactory.spec`).
The front matter becomes the fields below; the Markdown body becomes ``description``,
and its ``## Acceptance criteria`` bullet list becomes ``acceptance``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

SUPPORTED_LANGUAGES = ("python",)
KINDS = ("library", "cli", "http-service")

_SLUG = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")
_ROUTE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/\S*)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _module_name(value: str) -> str:
    if not _MODULE.match(value):
        raise ValueError(f"{value!r} is not a Python module name (letters, digits, _ and dots)")
    return value


def _signature(sig: str) -> str:
    sig = sig.strip().removeprefix("def ").rstrip(":").strip()
    try:
        ast.parse(f"def {sig}:\n    pass\n")
    except SyntaxError:
        raise ValueError(
            f"{sig!r} is not a Python function signature like 'name(arg: int) -> str'"
        ) from None
    return sig


Signature = Annotated[str, AfterValidator(_signature)]


class ClassSpec(_Strict):
    """A class the library exports: its name and its methods' signatures (``self`` included)."""

    name: str
    bases: list[str] = Field(default_factory=list)
    """Base classes (``[ValueError]`` for an exception the library raises)."""
    methods: list[Signature] = Field(default_factory=list)
    """As in a ``def`` line without ``def``: ``'__init__(self, capacity: int) -> None'``."""

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not value.isidentifier():
            raise ValueError(f"{value!r} is not a Python class name")
        return value

    @field_validator("methods")
    @classmethod
    def _check_self(cls, value: list[str]) -> list[str]:
        for sig in value:
            args = ast.parse(f"def {sig}:\n    pass\n").body[0].args  # type: ignore[attr-defined]
            first = (args.posonlyargs + args.args)[:1]
            if not first or first[0].arg not in ("self", "cls"):
                raise ValueError(f"method {sig!r} must take self (or cls) first")
        return value

    @field_validator("bases")
    @classmethod
    def _check_bases(cls, value: list[str]) -> list[str]:
        return [_module_name(b) for b in value]

    def header(self) -> str:
        """``class Name(Base)`` as it opens the class."""
        return f"class {self.name}({', '.join(self.bases)})" if self.bases else f"class {self.name}"

    def method_names(self) -> list[str]:
        return [sig.split("(", 1)[0].strip() for sig in self.methods]


class LibraryInterface(_Strict):
    """A Python library: one module and the functions and classes it exports."""

    kind: Literal["library"] = "library"
    module: str
    """The importable module the factory writes (``text_tools``)."""

    functions: list[Signature] = Field(default_factory=list)
    """Signatures as in a ``def`` line without ``def`` (``slugify(text: str) -> str``)."""

    classes: list[ClassSpec] = Field(default_factory=list)
    """Classes with their methods (``{name: LRUCache, methods: ['get(self, key: str) -> str']}``)."""

    @field_validator("module")
    @classmethod
    def _check_module(cls, value: str) -> str:
        return _module_name(value)

    @model_validator(mode="after")
    def _something_exported(self) -> LibraryInterface:
        if not self.functions and not self.classes:
            raise ValueError(
                "a library interface needs at least one entry in 'functions' or 'classes'"
            )
        return self

    def exported(self) -> list[str]:
        """Names a user imports from the module: the functions, then the classes."""
        return [sig.split("(", 1)[0].strip() for sig in self.functions] + [
            c.name for c in self.classes
        ]


class CliArgument(_Strict):
    """One positional argument (``FILE``) or option (``--top``) of a command."""

    name: str
    help: str = ""
    type: Literal["str", "int", "float", "path", "flag"] = "str"
    default: str | int | float | bool | None = None


class CliInterface(_Strict):
    """A command-line tool: its command name, usage line, arguments and exit codes."""

    kind: Literal["cli"] = "cli"
    command: str
    """The command a user types (``wordfreq``)."""

    module: str | None = None
    """The module holding ``main()``; default: the command with ``-`` turned into ``_``."""

    usage: str
    """The usage line, as ``--help`` would show it (``wordfreq [--top N] FILE``)."""

    arguments: list[CliArgument] = Field(default_factory=list)
    exit_codes: dict[int, str] = Field(default_factory=dict)
    """What each exit status means (``0: success``, ``1: the file does not exist``)."""

    @field_validator("module")
    @classmethod
    def _check_module(cls, value: str | None) -> str | None:
        return None if value is None else _module_name(value)

    def module_name(self) -> str:
        return self.module or self.command.replace("-", "_")


class ServiceInterface(_Strict):
    """A small HTTP service: its module, how it starts, and its routes."""

    kind: Literal["http-service"] = "http-service"
    module: str
    """The module holding the server (run as ``python -m MODULE --port PORT`` unless ``start`` says otherwise)."""

    start: str | None = None
    """Command line that starts the service; ``{port}`` is replaced by the port to listen on."""

    routes: dict[str, str] = Field(min_length=1)
    """``"METHOD /path": what it answers``, one entry per route."""

    @field_validator("module")
    @classmethod
    def _check_module(cls, value: str) -> str:
        return _module_name(value)

    @field_validator("routes")
    @classmethod
    def _route_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _ROUTE.match(key):
                raise ValueError(
                    f"route {key!r} should look like 'GET /path' (method, space, path)"
                )
        return value

    def start_command(self) -> str:
        return self.start or f"python -m {self.module} --port {{port}}"


Interface = Annotated[
    LibraryInterface | CliInterface | ServiceInterface, Field(discriminator="kind")
]


class Risk(_Strict):
    level: Literal["low", "medium", "high"] = "low"
    reasons: list[str] = Field(default_factory=list)


def parse_duration(value: str | int) -> int:
    """Seconds in a duration written as ``90s``, ``10m``, ``1h30m`` (or a bare number of seconds)."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        match = _DURATION.match(str(value).strip().replace(" ", ""))
        if not match or not any(match.groupdict().values()):
            raise ValueError(f"{value!r} is not a duration; write it like 90s, 10m or 1h30m")
        parts = {k: int(v or 0) for k, v in match.groupdict().items()}
        seconds = parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    if seconds <= 0:
        raise ValueError("the duration must be longer than zero")
    return seconds


def format_duration(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return "".join(f"{n}{u}" for n, u in ((h, "h"), (m, "m"), (s, "s")) if n) or "0s"


class Budget(_Strict):
    iterations: int = Field(default=8, ge=1, le=100)
    """How many rounds of code the factory may write (implement, then repairs; an answer that
    could not be used, or gave back the same code, is no round)."""

    tokens: int = Field(default=200_000, ge=1000)
    """Total tokens (prompt + generated) the run may spend."""

    wall_time: int = 1200
    """Seconds the whole run may take; written ``10m``, ``90s`` or ``1h30m`` in the spec."""

    @field_validator("wall_time", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> int:
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ValueError("write the wall time like 90s, 10m or 1h30m")
        return parse_duration(value)


class RoleModels(_Strict):
    """Per-role model names (manifests in ``models/``); unset roles use the settings."""

    planner: str | None = None
    test_writer: str | None = None
    coder: str | None = None
    judge: str | None = None

    def chosen(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v}


class Spec(_Strict):
    name: str
    """A slug (``text-tools``): names the run, the scenario folder and the output folder."""

    kind: Literal["library", "cli", "http-service"]
    language: str = "python"
    interface: Interface
    acceptance: list[str] = Field(min_length=1)
    """Acceptance criteria: plain sentences the delivered software must satisfy."""

    twins: list[str] = Field(default_factory=list)
    """Names of the digital twins (fake third-party services) the software talks to."""

    risk: Risk = Field(default_factory=Risk)
    budget: Budget = Field(default_factory=Budget)
    models: RoleModels = Field(default_factory=RoleModels)
    satisfaction: float | None = Field(default=None, ge=0.0, le=1.0)
    """Fraction of holdout scenario trajectories that must pass (default: ``factory.satisfaction_threshold``)."""

    description: str = ""
    """The Markdown body, without the acceptance criteria section: the planner reads it."""

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        interface, kind = data.get("interface"), data.get("kind")
        if isinstance(interface, dict) and "kind" not in interface and kind in KINDS:
            data["interface"] = {"kind": kind, **interface}
        if isinstance(data.get("risk"), str):
            data["risk"] = {"level": data["risk"]}
        return data

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(
                f"{value!r} is not a slug: use lowercase letters, digits and single dashes (text-tools)"
            )
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"language {value!r} is not supported yet; only python is")
        return value

    @field_validator("acceptance")
    @classmethod
    def _criteria(cls, value: list[str]) -> list[str]:
        cleaned = [c.strip() for c in value]
        if not all(cleaned):
            raise ValueError("an acceptance criterion is empty")
        return cleaned

    @model_validator(mode="after")
    def _kind_matches(self) -> Spec:
        if self.interface.kind != self.kind:
            raise ValueError(
                f"the interface is for a {self.interface.kind} but kind is {self.kind}"
            )
        return self

    def content_hash(self) -> str:
        """sha256 (hex) of the spec's content: changes when any field or the description does."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()
