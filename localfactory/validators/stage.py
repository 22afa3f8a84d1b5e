"""What the factory's engine calls: each validator run on a stage's context, its verdict stored.

- :func:`scrutinize` after the checks pass (or in place of the plain check): the code review;
- :func:`user_test` after the holdout scenarios ran (validate): the black-box judge;
- :func:`gate` when delivering: the risk score, and whether the change is held for a person;
- :func:`take_feedback` when a run starts: rejections of earlier deliveries, once.

Every judge call goes through the run's gateway, so it is recorded, and reused when a killed
run resumes or a run is replayed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from localfactory.validators import review, scrutiny, user_testing
from localfactory.validators.asking import Provenance, ask_gateway, role_model
from localfactory.validators.judge import JUDGE_ROLE, Judge
from localfactory.validators.records import latest_verdicts, store_verdict
from localfactory.validators.risk import RiskAssessment, assess
from localfactory.validators.static_review import is_test_path

if TYPE_CHECKING:
    from localfactory.factory.checks import CheckReport
    from localfactory.factory.context import StageContext
    from localfactory.factory.workspace import Workspace
    from localfactory.store import RunStore
    from localfactory.validators.verdict import ValidatorVerdict

SATISFACTION_ARTIFACT = ("satisfaction.json", "satisfaction")
"""Where the holdout stage keeps its result (name, kind)."""


def judge_for(ctx: StageContext) -> Judge:
    """The configured judge, asking through the run's gateway."""
    ask = ask_gateway(ctx.gateway, ctx.settings, ctx.spec)
    return Judge.from_settings(
        ctx.settings, ask, model=role_model(ctx.settings, JUDGE_ROLE, ctx.spec)
    )


def scrutinize(
    ctx: StageContext,
    *,
    checks: CheckReport | None = None,
    judge: Judge | None = None,
    use_judge: bool = True,
) -> ValidatorVerdict:
    """The checks (run here unless ``checks`` is the report the check stage just made), the
    static review and (with ``use_judge``) the judge's code review; the verdict is stored and
    returned."""
    material = scrutiny.gather(ctx, checks=checks)
    validator = scrutiny.ScrutinyValidator(
        (judge or judge_for(ctx)) if use_judge else None,
        max_criteria=ctx.settings.validators.max_judged_criteria,
        mypy_blocking=ctx.settings.factory.mypy_blocking,
    )
    produced_by = Provenance.of(ctx.settings, *scrutiny.WRITERS, spec=ctx.spec)
    verdict = validator.review(material, produced_by)
    store_verdict(ctx.store, ctx.run_id, verdict, step_seq=ctx.step_seq)
    return verdict


def satisfaction_of(store: RunStore, run_id: str) -> dict[str, Any] | None:
    """The latest holdout result of the run (``Satisfaction.as_dict()``), if any."""
    name, kind = SATISFACTION_ARTIFACT
    found = store.get_artifact(run_id, name, kind=kind)
    return None if found is None else dict(json.loads(found.text()))


def user_test(
    ctx: StageContext,
    *,
    satisfaction: dict[str, Any] | None = None,
    judge: Judge | None = None,
) -> ValidatorVerdict:
    """Judge the scenarios' ``judge:`` criteria on observed behaviour; store and return the verdict."""
    from localfactory.spec.scenario import load_scenarios

    folder = ctx.settings.project_path(ctx.settings.factory.scenarios_dir) / ctx.spec.name
    observations = user_testing.observe(ctx, load_scenarios(folder))
    validator = user_testing.UserTestingValidator(
        judge or judge_for(ctx), strict=ctx.settings.factory.strict_holdout
    )
    produced_by = Provenance.of(ctx.settings, *user_testing.WRITERS, spec=ctx.spec)
    if satisfaction is None:
        satisfaction = satisfaction_of(ctx.store, ctx.run_id)
    verdict = validator.review(observations, produced_by, satisfaction=satisfaction)
    store_verdict(ctx.store, ctx.run_id, verdict, step_seq=ctx.step_seq)
    return verdict


def diff_lines(workspace: Workspace, base: str = "main") -> int:
    """Lines added plus removed in the workspace since ``base`` (the empty starting point)."""
    out = workspace.git("diff", "--numstat", base, check=False)
    total = 0
    for line in out.splitlines():
        added, removed, *_ = line.split("\t")
        total += int(added) if added.isdigit() else 0
        total += int(removed) if removed.isdigit() else 0
    return total


def gate(ctx: StageContext, *, commit: str | None = None) -> RiskAssessment:
    """Score the change about to be delivered and record it; ``.held`` says whether a person decides."""
    files = {}
    for path in ctx.workspace.files():
        if path.endswith(".py") and not is_test_path(path):
            files[path] = ctx.workspace.read(path) or ""
    risk = assess(
        files,
        diff_lines=diff_lines(ctx.workspace),
        spec=ctx.spec,
        settings=ctx.settings.validators,
        satisfaction=satisfaction_of(ctx.store, ctx.run_id),
        verdicts=latest_verdicts(ctx.store, ctx.run_id),
        disputed=_disputed(ctx.store, ctx.run_id),
    )
    review.record_risk(ctx.store, ctx.run_id, risk, commit=commit or ctx.workspace.head())
    return risk


def _disputed(store: RunStore, run_id: str) -> list[str]:
    """Tests the check stage skipped as disputed or contradicted (see ``factory.disputes``)."""
    from localfactory.factory.disputes import DISPUTED_ARTIFACT

    found = store.get_artifact(run_id, DISPUTED_ARTIFACT, kind="check")
    return [] if found is None else list(json.loads(found.text())["tests"])


def take_feedback(ctx: StageContext) -> str:
    """Rejections of earlier deliveries of this spec, as feedback text (given to this run once)."""
    return review.take_feedback(ctx.store, ctx.spec.name, ctx.run_id)
