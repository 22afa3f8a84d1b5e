"""Faults on demand: latency, rate limits, server errors and dropped connections.

Off by default. ``PUT /_twin/faults`` installs a plan: a seed and a list of rules, each
naming an operation (or ``*``), a kind and a probability. Every request to a matching
operation draws one number per matching rule from a generator seeded with the plan's
seed, in request order, so the same seed and the same requests give the same faults.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any, Literal

from localfactory.twins.schema import compile_schema

FaultKind = Literal["latency", "rate_limit", "server_error", "drop"]

PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "seed": {"type": "integer", "description": "Seed of the generator that draws every fault."},
        "rules": {
            "type": "array",
            "maxItems": 100,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["kind"],
                "properties": {
                    "operation": {"type": "string", "description": "Operation name, or * for all."},
                    "kind": {
                        "type": "string",
                        "enum": ["latency", "rate_limit", "server_error", "drop"],
                    },
                    "probability": {"type": "number", "minimum": 0, "maximum": 1},
                    "latency_ms": {"type": "integer", "minimum": 0, "maximum": 60000},
                    "jitter_ms": {"type": "integer", "minimum": 0, "maximum": 60000},
                    "retry_after_s": {"type": "integer", "minimum": 0, "maximum": 3600},
                    "status": {"type": "integer", "minimum": 500, "maximum": 599},
                    "times": {"type": ["integer", "null"], "minimum": 0},
                },
            },
        },
    },
}
_check_plan = compile_schema(PLAN_SCHEMA)


@dataclass(slots=True)
class FaultRule:
    kind: FaultKind
    operation: str = "*"
    probability: float = 1.0
    latency_ms: int = 0
    jitter_ms: int = 0
    retry_after_s: int = 1
    status: int = 500
    times: int | None = None
    """Fire at most this many times, then stay quiet (None: no limit)."""
    fired: int = 0


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do to one request: wait ``delay_s``, then maybe answer with a failure instead."""

    delay_s: float
    kind: FaultKind | None
    retry_after_s: int = 1
    status: int = 500


class FaultPlan:
    """The installed rules and the seeded generator that decides when they fire."""

    def __init__(self, seed: int = 0, rules: list[FaultRule] | None = None) -> None:
        self.seed = seed
        self.rules = rules or []
        self._random = random.Random(seed)

    @classmethod
    def from_json(cls, document: Any) -> FaultPlan:
        """Build a plan from the admin API's JSON; raises SchemaViolation when it is malformed."""
        checked = _check_plan(document, "")
        rules = [FaultRule(**rule) for rule in checked.get("rules", [])]
        return cls(seed=checked.get("seed", 0), rules=rules)

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "rules": [asdict(rule) for rule in self.rules]}

    @property
    def active(self) -> bool:
        return bool(self.rules)

    def draw(self, operation: str) -> Fault | None:
        """The fault for one request to ``operation``, or None. Rules are tried in order."""
        delay = 0.0
        for rule in self.rules:
            if rule.operation not in ("*", operation):
                continue
            roll = self._random.random()
            if rule.times is not None and rule.fired >= rule.times:
                continue
            if roll >= rule.probability:
                continue
            rule.fired += 1
            if rule.kind == "latency":
                jitter = self._random.uniform(0, rule.jitter_ms) if rule.jitter_ms else 0.0
                delay += (rule.latency_ms + jitter) / 1000
                continue
            return Fault(delay, rule.kind, rule.retry_after_s, rule.status)
        return Fault(delay, None) if delay else None
