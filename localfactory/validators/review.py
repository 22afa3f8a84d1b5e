"""Held changes and the people who decide on them; rejections become the next run's feedback.

Everything is kept as artifacts of the run, so the run store needs no new table:

- ``risk.json`` (kind ``risk``): the :class:`RiskAssessment` of the delivered change, whether
  it was held, and the commit it was for;
- ``decision.json`` (kind ``review``): approve or reject, who decided, when, and the comment;
- ``review-feedback.json`` (kind ``review``) in a later run: which rejections that run was
  given as feedback, so each rejection is handed to the next run of the spec once.
"""

from __future__ import annotations

import getpass
import json
import os
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from localfactory.errors import UserError
from localfactory.validators.risk import RiskAssessment

if TYPE_CHECKING:
    from localfactory.config import Settings
    from localfactory.store import Run, RunStore

RISK_KIND, RISK_NAME = "risk", "risk.json"
REVIEW_KIND = "review"
DECISION_NAME = "decision.json"
FEEDBACK_USED_NAME = "review-feedback.json"

Decision = Literal["approve", "reject"]
DONE: dict[str, str] = {"approve": "approved", "reject": "rejected"}
"""Each decision as people say it once it is made."""


class ReviewError(UserError):
    """A review decision that cannot be recorded (not held, already decided, no comment)."""


@dataclass(frozen=True)
class HeldRun:
    run: Run
    risk: RiskAssessment
    commit: str | None


@dataclass(frozen=True)
class ReviewDecision:
    run_id: str
    spec_name: str
    decision: Decision
    by: str
    comment: str
    at: str
    """ISO 8601, UTC."""
    commit: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _json_artifact(store: RunStore, run_id: str, name: str, kind: str) -> Any:
    found = store.get_artifact(run_id, name, kind=kind)
    return None if found is None else json.loads(found.text())


def record_risk(
    store: RunStore, run_id: str, risk: RiskAssessment, *, commit: str | None = None
) -> bool:
    """Keep the assessment of the run's delivered change; True when the change is held."""
    data = {**risk.as_dict(), "commit": commit}
    store.put_artifact(run_id, RISK_NAME, json.dumps(data, indent=2), kind=RISK_KIND)
    verb = "held for review" if risk.held else "accepted automatically"
    store.log(run_id, f"risk {risk.score:.2f} (threshold {risk.threshold:.2f}): {verb}",
              level="warning" if risk.held else "info")  # fmt: skip
    return risk.held


def risk_of(store: RunStore, run_id: str) -> tuple[RiskAssessment, str | None] | None:
    data = _json_artifact(store, run_id, RISK_NAME, RISK_KIND)
    return None if data is None else (RiskAssessment.from_dict(data), data.get("commit"))


def decision_of(store: RunStore, run_id: str) -> ReviewDecision | None:
    data = _json_artifact(store, run_id, DECISION_NAME, REVIEW_KIND)
    return None if data is None else ReviewDecision(**data)


def held_runs(store: RunStore, *, include_decided: bool = False) -> list[HeldRun]:
    """Runs whose change was held, newest first (only those still waiting, unless asked)."""
    out = []
    for run in store.list_runs():
        found = risk_of(store, run.id)
        if found is None or not found[0].held:
            continue
        if include_decided or decision_of(store, run.id) is None:
            out.append(HeldRun(run, found[0], found[1]))
    return out


def who() -> str:
    """The person at the keyboard: the OS user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or f"uid {os.getuid()}"


def decide(
    store: RunStore, run_ref: str, decision: Decision, *, by: str | None = None, comment: str = ""
) -> ReviewDecision:
    """Record a person's decision on a held run. A rejection needs a comment: it is the feedback."""
    run = store.find_run(run_ref)
    found = risk_of(store, run.id)
    if found is None or not found[0].held:
        raise ReviewError(
            f"Run {run.id} was not held for review, so there is nothing to decide.",
            hint="`localfactory review` lists the runs waiting for a decision.",
        )
    earlier = decision_of(store, run.id)
    if earlier is not None:
        raise ReviewError(
            f"Run {run.id} was already {DONE[earlier.decision]} by {earlier.by} at {earlier.at}.",
            hint="Start a new run of the spec to change the outcome.",
        )
    comment = comment.strip()
    if decision == "reject" and not comment:
        raise ReviewError(
            "A rejection needs a comment: it is the feedback the next run of the spec gets.",
            hint='Add -m "what is wrong and what to do instead".',
        )
    record = ReviewDecision(
        run_id=run.id, spec_name=run.spec_name, decision=decision, by=by or who(),
        comment=comment, at=datetime.now(UTC).isoformat(timespec="seconds"), commit=found[1],
    )  # fmt: skip
    store.put_artifact(run.id, DECISION_NAME, json.dumps(record.as_dict(), indent=2),
                       kind=REVIEW_KIND)  # fmt: skip
    store.log(run.id, f"{DONE[decision]} by {record.by}" + (f": {comment}" if comment else ""))
    return record


def pending_feedback(store: RunStore, spec_name: str) -> list[ReviewDecision]:
    """Rejections of the spec's runs that no later run has been given yet, oldest first."""
    runs = store.list_runs(spec_name=spec_name)
    given: set[str] = set()
    for run in runs:
        used = _json_artifact(store, run.id, FEEDBACK_USED_NAME, REVIEW_KIND)
        if used:
            given.update(used.get("rejections", []))
    out = []
    for run in reversed(runs):
        decided = decision_of(store, run.id)
        if decided is not None and decided.decision == "reject" and run.id not in given:
            out.append(decided)
    return out


def feedback_text(rejections: list[ReviewDecision]) -> str:
    """The rejections as feedback for a generating prompt (empty when there are none)."""
    if not rejections:
        return ""
    lines = ["A person reviewed an earlier delivery of this specification and rejected it:"]
    lines += [f"- {r.comment}" for r in rejections]
    lines.append("Make sure this version does not have those problems.")
    return "\n".join(lines)


def take_feedback(store: RunStore, spec_name: str, run_id: str) -> str:
    """The pending rejections as feedback text, recorded as given to ``run_id`` (once)."""
    already = _json_artifact(store, run_id, FEEDBACK_USED_NAME, REVIEW_KIND)
    if already is not None:
        return str(already.get("text", ""))
    rejections = pending_feedback(store, spec_name)
    text = feedback_text(rejections)
    data = {"rejections": [r.run_id for r in rejections], "text": text, "at": time.time()}
    store.put_artifact(run_id, FEEDBACK_USED_NAME, json.dumps(data, indent=2), kind=REVIEW_KIND)
    return text


def deliver_approved(settings: Settings, decision: ReviewDecision) -> bool:
    """Point the spec's ``delivered`` branch at the approved commit; False when there is none."""
    from localfactory.factory.workspace import DELIVERY_BRANCH, Workspace

    root = settings.project_path(settings.factory.workspace_dir) / decision.spec_name
    if decision.commit is None or not (root / ".git").exists():
        return False
    Workspace(root).git("branch", "-f", DELIVERY_BRANCH, decision.commit)
    return True


def record_decision(
    settings: Settings, store: RunStore, run: str, decision: Decision, *, comment: str = "",
    by: str | None = None,
) -> str:  # fmt: skip
    """Record a person's decision on a held run (an approved change is delivered at once);
    returns the sentence saying what happened (``localfactory review`` and the TUI say it)."""
    made = decide(store, run, decision, by=by, comment=comment)
    if made.decision == "reject":
        return (f"Run {made.run_id} rejected by {made.by}; the comment goes to the "
                f"next run of {made.spec_name} as feedback.")  # fmt: skip
    delivered = deliver_approved(settings, made)
    where = (
        f"; commit {made.commit[:10]} is now on branch 'delivered'"
        if delivered and made.commit
        else ""
    )
    return f"Run {made.run_id} approved by {made.by}{where}."
