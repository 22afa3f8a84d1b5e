"""``runs audit``: prove that no holdout scenario content reached a generating role.

Every stored prompt of the run's planner, test writer and coder calls is searched for
pieces of the spec's scenarios. A piece the spec itself states, or that a model wrote in
an earlier answer of the same run, is not a leak (the model could not have learnt it from
the scenarios); anything else is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from localfactory.factory.calls import GENERATING_ROLES
from localfactory.factory.holdout import leak_fragments
from localfactory.spec import Spec, render_for_prompt
from localfactory.spec.scenario import load_scenarios
from localfactory.store import RunStore


@dataclass(frozen=True)
class Leak:
    call_seq: int
    step_seq: int
    role: str
    fragment: str


@dataclass(frozen=True)
class AuditResult:
    prompts_checked: int
    fragments: int
    leaks: list[Leak]


def audit_run(store: RunStore, run_id: str, spec: Spec, scenarios_dir: Path) -> AuditResult:
    fragments = [
        f
        for f in leak_fragments(load_scenarios(scenarios_dir / spec.name))
        if f not in render_for_prompt(spec)
    ]
    produced: list[str] = []
    leaks: list[Leak] = []
    checked = 0
    for call in store.model_calls(run_id):
        if call.role in GENERATING_ROLES:
            checked += 1
            messages = (call.request or {}).get("messages", [])
            prompt = "\n".join(str(m.get("content", "")) for m in messages)
            for fragment in fragments:
                if fragment in prompt and not any(fragment in p for p in produced):
                    leaks.append(Leak(call.seq, call.step_seq, call.role, fragment))
        produced.append(call.response_text or "")
    return AuditResult(checked, len(fragments), leaks)
