"""Risk gates: how risky a delivered change is, and why, before anyone relies on it.

The score (0 to 1, points added up and capped) comes from:

- what the code touches, found with :mod:`ast` and names: payments, authentication,
  secrets, permissions, deletion, shell commands, network use;
- the change's size (lines added and removed against the run's starting point);
- satisfaction below its target (or not measured at all);
- judges that could not decide (undecided verdicts, judgements that need a human) and
  validators that failed;
- the spec's own ``risk`` level and reasons.

Below ``validators.risk_threshold`` a change is accepted automatically; at or above it, it
is held for a person (see :mod:`localfactory.validators.review`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from localfactory.validators.static_review import (
    calls,
    dotted,
    imported_modules,
    is_network_module,
    is_test_path,
    parse,
)

if TYPE_CHECKING:
    from localfactory.config import ValidatorSettings
    from localfactory.spec import Spec


@dataclass(frozen=True)
class Area:
    points: float
    words: frozenset[str] = frozenset()
    """Words in names (split at ``_`` and camelCase) that say the code is in this area."""
    phrases: tuple[str, ...] = ()
    """Word pairs that say it together (``api key``, ``access token``)."""
    calls: frozenset[str] = frozenset()
    modules: tuple[str, ...] = ()
    attributes: bool = True
    """Attribute names count too (off where common methods would mislead: ``list.remove``)."""


def _words(*items: str) -> frozenset[str]:
    return frozenset(items)


AREAS: dict[str, Area] = {
    "payments": Area(0.5, _words("payment", "pay", "charge", "invoice", "billing", "refund",
                                 "checkout", "card", "iban", "payout", "stripe", "paypal"),
                     modules=("stripe", "braintree", "paypalrestsdk")),
    "authentication": Area(0.4, _words("auth", "authenticate", "login", "logout", "password",
                                       "passwd", "credential", "session", "oauth", "jwt",
                                       "signin", "otp", "mfa"),
                           modules=("jwt", "bcrypt", "passlib", "oauthlib", "authlib")),
    "secrets": Area(0.4, _words("secret", "apikey", "passphrase", "keyring", "vault"),
                    phrases=("api key", "access token", "auth token", "private key",
                             "access key", "bearer token", "client secret"),
                    calls=_words("os.getenv", "os.environ.get", "getpass.getpass"),
                    modules=("keyring", "secrets")),
    "permissions": Area(0.3, _words("permission", "chmod", "chown", "admin", "acl", "privilege",
                                    "sudo", "grant", "revoke", "setuid", "role"),
                        calls=_words("os.chmod", "os.chown", "os.setuid", "os.setgid")),
    # Not "truncate": in Python names it shortens text far more often than it empties tables.
    "deletion": Area(0.3, _words("delete", "remove", "destroy", "purge", "drop", "unlink",
                                 "rmtree", "wipe", "erase"),
                     calls=_words("os.remove", "os.unlink", "os.rmdir", "shutil.rmtree"),
                     attributes=False),
    "shell": Area(0.3, calls=_words("os.system", "os.popen", "subprocess.run", "subprocess.call",
                                    "subprocess.Popen", "subprocess.check_output",
                                    "subprocess.check_call", "pty.spawn")),
    "network": Area(0.2),
}  # fmt: skip
"""Sensitive areas and the points touching each adds."""

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SQL_DELETE = re.compile(r"\b(DELETE\s+FROM|DROP\s+TABLE|TRUNCATE\s+TABLE)\b", re.IGNORECASE)


def split_name(name: str) -> list[str]:
    """``chargeCard`` and ``charge_card`` both give ``["charge", "card"]``."""
    return [w.lower() for part in re.split(r"[_\W]+", name) for w in _CAMEL.split(part) if w]


def _stems(word: str) -> set[str]:
    forms = {word}
    if word.endswith("s"):
        forms |= {word[:-1], word[:-2]}  # payments, passes
    if word.endswith("d"):
        forms |= {word[:-1], word[:-2]}  # deleted, granted
    if word.endswith("ing"):
        forms |= {word[:-3], word[:-3] + "e"}  # charging
    return forms


def _names(tree: ast.AST) -> Iterable[tuple[str, int, bool]]:
    """Names in the code with their line, and whether each is an attribute."""
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name, line, False
        elif isinstance(node, ast.Name):
            yield node.id, line, False
        elif isinstance(node, ast.Attribute):
            yield node.attr, line, True
        elif isinstance(node, ast.arg):
            yield node.arg, line, False
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _SQL_DELETE.search(node.value)
        ):
            yield "delete", line, False


def areas_named(name: str, *, attribute: bool = False) -> list[str]:
    """The areas a name (``charge_card``, ``apiKey``, ``payments``) says the code is in."""
    words = split_name(name)
    joined = " ".join(words)
    found = []
    for area, spec in AREAS.items():
        if attribute and not spec.attributes:
            continue
        if any(_stems(w) & spec.words for w in words) or any(p in joined for p in spec.phrases):
            found.append(area)
    return found


def touched_areas(files: Mapping[str, str]) -> dict[str, list[str]]:
    """Area → where it is touched (``payments.py:3 charge_card``), for the code files (tests excluded)."""
    found: dict[str, list[str]] = {}

    def note(area: str, where: str) -> None:
        spots = found.setdefault(area, [])
        if where not in spots:
            spots.append(where)

    for path, source in sorted(files.items()):
        if not path.endswith(".py") or is_test_path(path):
            continue
        for area in areas_named(path.removesuffix(".py")):
            note(area, f"{path} (file name)")
        tree, _ = parse(path, source)
        if tree is None:
            continue
        for name, line, attribute in _names(tree):
            for area in areas_named(name, attribute=attribute):
                note(area, f"{path}:{line} {name}")
        for name, call in calls(tree):
            for area, spec in AREAS.items():
                if name in spec.calls:
                    note(area, f"{path}:{call.lineno} {name}()")
        for module, line in imported_modules(tree):
            if is_network_module(module):
                note("network", f"{path}:{line} import {module}")
            for area, spec in AREAS.items():
                if module.split(".")[0] in spec.modules:
                    note(area, f"{path}:{line} import {module}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript) and dotted(node.value) == "os.environ":
                note("secrets", f"{path}:{node.lineno} os.environ[...]")
    return found


@dataclass(frozen=True)
class RiskReason:
    points: float
    text: str


@dataclass
class RiskAssessment:
    score: float
    threshold: float
    reasons: list[RiskReason] = field(default_factory=list)

    @property
    def held(self) -> bool:
        """At or above the threshold: a person decides (``localfactory review``)."""
        return self.score >= self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "threshold": self.threshold, "held": self.held,
                "reasons": [asdict(r) for r in self.reasons]}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RiskAssessment:
        reasons = [RiskReason(float(r["points"]), str(r["text"])) for r in data.get("reasons", [])]
        return cls(float(data["score"]), float(data["threshold"]), reasons)


SPEC_LEVEL_POINTS = {"low": 0.0, "medium": 0.25, "high": 0.5}


def assess(
    files: Mapping[str, str],
    *,
    diff_lines: int,
    spec: Spec,
    settings: ValidatorSettings,
    satisfaction: Mapping[str, Any] | None = None,
    verdicts: Iterable[Mapping[str, Any]] = (),
    disputed: Iterable[str] = (),
) -> RiskAssessment:
    """The risk of delivering ``files`` (the software's files after the change).

    ``satisfaction`` is the holdout's ``Satisfaction.as_dict()``; ``verdicts`` are stored
    validator verdicts (``ValidatorVerdict.as_dict()``) of the iteration being delivered;
    ``disputed`` names the test writer's tests the checks skipped: disputed (the test writer
    and the coder never agreed) or contradicted (they failed code the holdout scenarios passed).
    """
    reasons: list[RiskReason] = []
    touched = touched_areas(files)
    routes = getattr(spec.interface, "routes", {})
    for route in routes:
        if route.startswith("DELETE "):
            touched.setdefault("deletion", []).append(f"the route {route}")
    for area, spots in touched.items():
        shown = ", ".join(spots[:3]) + (f" and {len(spots) - 3} more" if len(spots) > 3 else "")
        reasons.append(RiskReason(AREAS[area].points, f"touches {area}: {shown}"))
    large = settings.large_diff_lines
    if diff_lines >= 2 * large:
        reasons.append(RiskReason(0.3, f"a very large change: {diff_lines} lines changed"))
    elif diff_lines >= large:
        reasons.append(RiskReason(0.15, f"a large change: {diff_lines} lines changed"))
    reasons += _satisfaction_reasons(satisfaction)
    reasons += _verdict_reasons(list(verdicts))
    skipped = sorted(disputed)
    if skipped:
        reasons.append(RiskReason(0.2, f"{len(skipped)} of the test writer's tests were skipped "
                                  "(disputed, or contradicted by the holdout): "
                                  f"{', '.join(skipped[:3])}"))  # fmt: skip
    level_points = SPEC_LEVEL_POINTS[spec.risk.level]
    if level_points:
        why = f" ({'; '.join(spec.risk.reasons)})" if spec.risk.reasons else ""
        reasons.append(
            RiskReason(level_points, f"the spec says its risk is {spec.risk.level}{why}")
        )
    score = round(min(1.0, sum(r.points for r in reasons)), 3)
    reasons.sort(key=lambda r: -r.points)
    return RiskAssessment(score, settings.risk_threshold, reasons)


def _satisfaction_reasons(satisfaction: Mapping[str, Any] | None) -> list[RiskReason]:
    if satisfaction is None or satisfaction.get("overall") is None:
        return [RiskReason(0.1, "satisfaction was not measured (no holdout scenarios)")]
    value, target = float(satisfaction["overall"]), float(satisfaction["threshold"])
    if value < target:
        return [RiskReason(0.3, f"satisfaction {value:.0%} is below its target {target:.0%}")]
    return []


def _verdict_reasons(verdicts: list[Mapping[str, Any]]) -> list[RiskReason]:
    out = []
    undecided = sum(int(v.get("undecided", 0)) for v in verdicts)
    humans = sum(int(v.get("needs_human", 0)) for v in verdicts)
    if undecided:
        out.append(RiskReason(min(0.4, 0.2 * undecided), f"judges disagreed with themselves on "
                              f"{undecided} question(s) ({humans} need a human)"))  # fmt: skip
    for v in verdicts:
        if v.get("outcome") == "fail":
            out.append(
                RiskReason(0.4, f"the {v.get('validator')} validator failed: {v.get('summary')}")
            )
    return out
