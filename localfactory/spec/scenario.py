"""Holdout scenarios: checks of the delivered software that the models never see.

Scenarios live beside specs, never inside them: ``scenarios/<spec-name>/*.yaml``, one
scenario per file. A scenario is a name, a description and a list of steps; every step is
one of three shapes, matching the spec's kind:

``call`` (library)
    A Python expression, evaluated with ``from <module> import *`` done first.
    ``expect: VALUE`` — the result must equal VALUE (a YAML value, compared with ``==``);
    or ``raises: ValueError`` — the call must raise that exception (by class name).

``run`` (cli)
    A command line (split like a shell would, no shell involved). Optional ``stdin``,
    ``files`` (``{name: content}`` written into the working folder first), then the checks
    ``exit_code`` (default 0), ``stdout`` (exact), ``stdout_contains``, ``stderr_contains``.

``request`` (http-service)
    ``"METHOD /path"``, with an optional ``json`` body; checks ``status``, ``json_equals``,
    ``json_contains`` (these keys with these values), ``body_contains``.

Any step may also carry ``judge: "a criterion in plain words"``: a fuzzy check that a
judge model makes on what the step visibly produced (the value or the exception message,
the output and exit status, the HTTP answer), never on the source. Scenarios without it
behave as before.

Steps run in order and share state (the service keeps running across a scenario's steps,
the working folder is shared across ``run`` steps). The scenario runner comes with the
orchestrator; this module is the format and its loader.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
)

from localfactory.spec.document import DocumentProblem, node_line, parse_yaml_mapping
from localfactory.spec.load import SpecError

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_REQUEST = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/\S*)$")


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    judge: str | None = None
    """A fuzzy criterion a judge model checks on what the step visibly produced (its value,
    output or answer), never on the source: ``the error message says which field is wrong``."""


class CallStep(_Step):
    call: str
    expect: Any = None
    expect_eval: str | None = None
    """A Python expression over the scenario's ``vars`` giving the expected value (an oracle)."""
    raises: str | None = None

    def expects_value(self) -> bool:
        return "expect" in self.model_fields_set or self.expect_eval is not None


class RunStep(_Step):
    run: str | list[str]
    stdin: str | None = None
    files: dict[str, str] = Field(default_factory=dict)
    exit_code: int = 0
    stdout: str | None = None
    stdout_contains: list[str] = Field(default_factory=list)
    stderr_contains: list[str] = Field(default_factory=list)

    @field_validator("stdout_contains", "stderr_contains", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def argv(self) -> list[str]:
        return shlex.split(self.run) if isinstance(self.run, str) else list(self.run)


class RequestStep(_Step):
    request: str
    json_body: Any = Field(default=None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    status: int | None = None
    json_equals: Any = None
    json_contains: dict[str, Any] = Field(default_factory=dict)
    body_contains: str | None = None

    @field_validator("request")
    @classmethod
    def _method_path(cls, value: str) -> str:
        if not _REQUEST.match(value.strip()):
            raise ValueError(f"{value!r} should look like 'GET /path'")
        return value.strip()


def _step_kind(value: Any) -> str | None:
    if isinstance(value, _Step):
        return next(k for k, cls in _STEP_KINDS.items() if isinstance(value, cls))
    kinds = [k for k in _STEP_KINDS if isinstance(value, dict) and k in value]
    return kinds[0] if len(kinds) == 1 else None


Step = Annotated[
    Annotated[CallStep, Tag("call")]
    | Annotated[RunStep, Tag("run")]
    | Annotated[RequestStep, Tag("request")],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message="a step needs exactly one of 'call', 'run' or 'request'",
    ),
]
_STEP_KINDS: dict[str, type[_Step]] = {"call": CallStep, "run": RunStep, "request": RequestStep}


class IntVar(_Step):
    int: tuple[int, int]
    """Inclusive bounds."""


class ChoiceVar(_Step):
    choice: list[Any] = Field(min_length=1)


class StringVar(_Step):
    class Shape(_Step):
        alphabet: str = Field(default="abcdefghijklmnopqrstuvwxyz ", min_length=1)
        min: int = Field(default=0, ge=0)
        max: int = Field(default=12, ge=0)

    string: Shape


Var = IntVar | ChoiceVar | StringVar


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    trajectories: int = Field(default=1, ge=1, le=1000)
    """How many times the scenario runs, each with fresh random ``vars`` (seeded)."""

    seed: int = 0
    """Seed of the random inputs: the same seed draws the same trajectories."""

    vars: dict[str, Var] = Field(default_factory=dict)
    """Random inputs, drawn per trajectory; steps use them as ``{name}`` placeholders."""

    steps: list[Step] = Field(min_length=1)
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"{value!r} is not a slug (lowercase letters, digits, - and _)")
        return value


def scenario_dir(project_dir: Path, spec_name: str) -> Path:
    return project_dir / "scenarios" / spec_name


def load_scenario(path: Path) -> Scenario:
    """Read one scenario file. Raises :class:`SpecError` naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(path, None, f"Cannot read the scenario: {exc}.") from None
    try:
        data, node = parse_yaml_mapping(text, first_line=1, what="The scenario")
    except DocumentProblem as exc:
        raise SpecError(path, exc.line, exc.message, hint=exc.hint) from None
    try:
        return Scenario.model_validate({**data, "path": path})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for i, p in enumerate(err["loc"]) if not (i == 2 and p in _STEP_KINDS))
        where = ".".join(str(p) for p in loc) or "scenario"
        msg = err["msg"].removeprefix("Value error, ")
        raise SpecError(path, node_line(node, loc), f"Invalid {where!r}: {msg}.") from None


def load_scenarios(folder: Path) -> list[Scenario]:
    """All scenarios in ``folder`` (``*.yaml``/``*.yml``), sorted by file name; none if it is missing."""
    if not folder.is_dir():
        return []
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    return [load_scenario(f) for f in files]
