"""Validator verdicts in the run store: one artifact of kind ``verdict`` per validator per step."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localfactory.store import ArtifactInfo, RunStore
    from localfactory.validators.verdict import ValidatorVerdict

VERDICT_KIND = "verdict"


def store_verdict(
    store: RunStore, run_id: str, verdict: ValidatorVerdict, *, step_seq: int | None
) -> ArtifactInfo:
    """Keep ``verdict`` as ``<validator>.json`` of the step (the iteration) that produced it."""
    text = json.dumps(verdict.as_dict(), indent=2, default=str)
    return store.put_artifact(
        run_id, f"{verdict.validator}.json", text, kind=VERDICT_KIND, step_seq=step_seq
    )


def stored_verdicts(store: RunStore, run_id: str) -> list[dict[str, Any]]:
    """Every verdict of the run in the order written, each with its ``step_seq``."""
    out = []
    for info in store.list_artifacts(run_id, kind=VERDICT_KIND):
        found = store.get_artifact(run_id, info.name, kind=VERDICT_KIND, step_seq=info.step_seq)
        if found is not None:
            out.append({**json.loads(found.text()), "step_seq": info.step_seq})
    return out


def latest_verdicts(store: RunStore, run_id: str) -> list[dict[str, Any]]:
    """The newest verdict of each validator (what the delivered iteration was judged on)."""
    newest: dict[str, dict[str, Any]] = {}
    for verdict in stored_verdicts(store, run_id):
        newest[verdict["validator"]] = verdict
    return list(newest.values())
