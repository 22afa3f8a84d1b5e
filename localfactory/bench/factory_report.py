"""The factory benchmark's results: per spec and side, the solve rates, the table, the JSON file.

A side *solves* a spec when every holdout scenario trajectory passes against what it
produced (for the factory, the run must also have succeeded). The verdict is PASS when the
factory's solve rate beats single-shot's by at least :data:`TARGET_POINTS` points.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TARGET_POINTS = 15.0
"""The factory's solve rate must beat single-shot's by this many percentage points."""
TARGET_MODEL = "qwen2.5-coder-1.5b"
"""The model the target is set for."""
LEVELS = ("easy", "medium", "hard")


@dataclass
class Attempt:
    """What one side made of one spec, as the holdout scenarios judged it."""

    solved: bool
    satisfaction: float | None
    passed: int
    trajectories: int
    seconds: float
    tokens: int
    status: str
    """``ok`` or what went wrong (single-shot); the run's status and reason (factory)."""
    load: float | None = None
    """The machine's 1-minute load average when the side finished (None in older results)."""


@dataclass
class SpecResult:
    name: str
    level: str
    single_shot: Attempt
    factory: Attempt
    run_id: str | None = None


Side = str  # "single_shot" | "factory"
SIDES: tuple[Side, ...] = ("single_shot", "factory")


@dataclass
class BenchReport:
    model: str
    suite: str
    workdir: str
    results: list[SpecResult] = field(default_factory=list)

    def _attempts(self, side: Side, level: str | None = None) -> list[Attempt]:
        return [getattr(r, side) for r in self.results if level is None or r.level == level]

    def solved(self, side: Side, level: str | None = None) -> int:
        return sum(a.solved for a in self._attempts(side, level))

    def solve_rate(self, side: Side, level: str | None = None) -> float | None:
        attempts = self._attempts(side, level)
        return sum(a.solved for a in attempts) / len(attempts) if attempts else None

    def points(self) -> float | None:
        """How many percentage points the factory's solve rate is above single-shot's."""
        single, factory = self.solve_rate("single_shot"), self.solve_rate("factory")
        return None if single is None or factory is None else (factory - single) * 100

    def mean(self, side: Side, what: str) -> float | None:
        values = [float(getattr(a, what)) for a in self._attempts(side)]
        return sum(values) / len(values) if values else None

    def verdict(self) -> str:
        points = self.points()
        return "PASS" if points is not None and points >= TARGET_POINTS else "MISS"

    def summary_lines(self) -> list[str]:
        n = len(self.results)
        if not n:
            return ["no specs were run"]
        lines = []
        for side, label in (("single_shot", "single-shot"), ("factory", "factory")):
            levels = ", ".join(
                f"{lvl} {self.solved(side, lvl)}/{len(self._attempts(side, lvl))}"
                for lvl in (*LEVELS, "-")
                if self._attempts(side, lvl)
            )
            lines.append(
                f"{label:<12} solved {self.solved(side)}/{n} ({_pct(self.solve_rate(side))}; "
                f"{levels}); per spec {_secs(self.mean(side, 'seconds'))}, "
                f"{self.mean(side, 'tokens') or 0:,.0f} tokens"
            )
        loads = [a.load for a in self._attempts("factory") if a.load is not None]
        if loads:
            cores = os.cpu_count() or 1
            lines.append(
                f"machine: {cores} cores; load average as the factory's runs ended: mean "
                f"{sum(loads) / len(loads):.1f}, highest {max(loads):.1f}"
                + (
                    " (a busy machine: the specs' wall-time budgets cost the factory rounds, "
                    "single-shot has no budget to lose)"
                    if max(loads) > cores
                    else ""
                )
            )
        note = "" if self.model == TARGET_MODEL else f"; the target is set for {TARGET_MODEL}"
        lines.append(
            f"the factory beats single-shot by {self.points():+.0f} points "
            f"(target at least +{TARGET_POINTS:.0f} with {self.model}{note}): {self.verdict()}"
        )
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "suite": self.suite,
            "workdir": self.workdir,
            "specs": [asdict(r) for r in self.results],
            "solve_rate": {side: self.solve_rate(side) for side in SIDES},
            "solve_rate_by_level": {
                side: {lvl: self.solve_rate(side, lvl) for lvl in LEVELS} for side in SIDES
            },
            "points": self.points(),
            "mean_seconds": {side: self.mean(side, "seconds") for side in SIDES},
            "mean_tokens": {side: self.mean(side, "tokens") for side in SIDES},
            "target_points": TARGET_POINTS,
            "target_model": TARGET_MODEL,
            "verdict": self.verdict(),
        }

    @classmethod
    def load(cls, path: Path) -> BenchReport:
        """The report a (perhaps interrupted) bench wrote to ``path``."""
        data = json.loads(path.read_text())
        report = cls(model=data["model"], suite=data["suite"], workdir=data["workdir"])
        for spec in data["specs"]:
            report.results.append(
                SpecResult(
                    name=spec["name"],
                    level=spec["level"],
                    single_shot=Attempt(**spec["single_shot"]),
                    factory=Attempt(**spec["factory"]),
                    run_id=spec.get("run_id"),
                )
            )
        return report

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
        tmp.replace(path)


# -- the table ---------------------------------------------------------------------------
def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


def _cells(a: Attempt) -> str:
    return f"{'yes' if a.solved else 'no':<6} {_pct(a.satisfaction):>5} {_secs(a.seconds):>7} {a.tokens:>8,}"


def table_header() -> list[str]:
    side = f"{'solved':<6} {'sat':>5} {'time':>7} {'tokens':>8}"
    return [
        f"{'':<18} {'':<6}   {'single-shot':<29}   {'factory':<29}",
        f"{'spec':<18} {'level':<6}   {side}   {side}   run",
    ]


def table_row(r: SpecResult) -> str:
    return f"{r.name:<18} {r.level:<6}   {_cells(r.single_shot)}   {_cells(r.factory)}   {r.factory.status}"


def verdict_line(a: Attempt) -> str:
    return (
        f"{'solved' if a.solved else 'not solved'} ({a.passed}/{a.trajectories} trajectories) "
        f"in {a.seconds:.0f} s, {a.tokens:,} tokens; {a.status}"
    )
