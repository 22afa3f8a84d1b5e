"""Proof of testing: every finished run writes a report, in Markdown and as one HTML page.

The report is built from the run store alone (plus the workspace's git history for the
final tests and code), so ``localfactory runs report RUN`` can write it again at any time.
It shows the spec, the tests and their results, the checks, both validators' verdicts and
the risk gate's decision, satisfaction per iteration, each step with its outcome, tokens,
time and the models used.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localfactory.factory.budget import is_iteration
from localfactory.factory.workspace import Workspace
from localfactory.store import Run, RunStore

if TYPE_CHECKING:
    from localfactory.config import Settings


@dataclass
class StepLine:
    seq: int
    stage: str
    outcome: str
    reason: str
    seconds: float
    tokens: int
    commit: str


@dataclass
class ReportData:
    run: Run
    spec_text: str
    steps: list[StepLine]
    usage: list[dict[str, Any]]
    models: list[str]
    satisfaction: list[dict[str, Any]]
    """One entry per validate step: the satisfaction document it stored."""
    checks: dict[str, Any] | None
    tests_source: str | None
    code_source: str | None
    code_path: str | None
    test_path: str | None
    workspace: Path | None
    delivered: str | None
    warnings: list[str] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    """Every validator verdict of the run, in order, each with its ``step_seq``."""
    risk: dict[str, Any] | None = None
    """The risk gate's assessment of the delivered change (score, threshold, held, reasons)."""
    decision: dict[str, Any] | None = None
    """A person's review decision on a held change."""

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    @property
    def tokens(self) -> int:
        return sum(int(u["prompt_tokens"]) + int(u["generated_tokens"]) for u in self.usage)

    @property
    def iterations(self) -> int:
        return sum(1 for s in self.steps if is_iteration(s.stage, s.outcome))


def collect(
    store: RunStore,
    run_id: str,
    *,
    workspace: Path | None,
    code_path: str | None,
    test_path: str | None,
) -> ReportData:
    run = store.get_run(run_id)
    spec = store.get_artifact(run.id, "spec.md", kind="spec")
    calls = store.model_calls(run.id)
    tokens_by_step: dict[int, int] = {}
    for c in calls:
        tokens_by_step[c.step_seq] = (
            tokens_by_step.get(c.step_seq, 0) + c.prompt_tokens + c.generated_tokens
        )
    steps = []
    for s in store.steps(run.id):
        out = s.output or {}
        end = s.finished_at or s.started_at
        seconds = float(out.get("work_s", (end - s.started_at).total_seconds()))
        steps.append(StepLine(
            s.seq, s.name, str(out.get("outcome", s.status.value)), str(out.get("reason", s.error or "")),
            seconds, tokens_by_step.get(s.seq, 0), str(out.get("commit", ""))[:10],
        ))  # fmt: skip
    satisfaction = []
    for info in store.list_artifacts(run.id, kind="satisfaction"):
        art = store.get_artifact(run.id, info.name, kind="satisfaction", step_seq=info.step_seq)
        if art is not None:
            satisfaction.append({"step": info.step_seq, **json.loads(art.text())})
    checks_art = store.get_artifact(run.id, "checks.json", kind="check")
    last_commit = next((s.commit for s in reversed(steps) if s.commit), None)
    tests_source = code_source = None
    delivered = None
    if workspace is not None and (workspace / ".git").exists() and last_commit:
        ws = Workspace(workspace)
        if test_path:
            tests_source = ws.git("show", f"{last_commit}:{test_path}", check=False) or None
        if code_path:
            code_source = ws.git("show", f"{last_commit}:{code_path}", check=False) or None
        if run.state == "done":
            delivered = ws.git("rev-parse", "--short", "delivered", check=False) or None
    warnings = [
        line.message for line in store.read_log(run.id) if line.level.value in ("warning", "error")
    ]
    from localfactory.validators.records import stored_verdicts
    from localfactory.validators.review import decision_of, risk_of

    risk = risk_of(store, run.id)
    decision = decision_of(store, run.id)
    return ReportData(
        run=run,
        spec_text=spec.text() if spec else "",
        steps=steps,
        usage=[asdict(u) for u in store.usage(run.id)],
        models=sorted({f"{c.role}: {c.model} via {c.backend}" for c in calls}),
        satisfaction=satisfaction,
        checks=json.loads(checks_art.text()) if checks_art else None,
        tests_source=tests_source,
        code_source=code_source,
        code_path=code_path,
        test_path=test_path,
        workspace=workspace,
        delivered=delivered,
        warnings=warnings,
        verdicts=stored_verdicts(store, run.id),
        risk=None if risk is None else {**risk[0].as_dict(), "commit": risk[1]},
        decision=None if decision is None else decision.as_dict(),
    )


def _pct(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.0%}"


def _verdict(d: ReportData) -> str:
    if d.run.state == "done":
        return (
            f"DELIVERED (commit {d.delivered} on branch 'delivered')"
            if d.delivered
            else "DELIVERED"
        )
    if d.run.state == "failed":
        return f"FAILED: {d.run.error}"
    return f"NOT FINISHED (state {d.run.state}, status {d.run.status.value})"


VALIDATOR_TITLES = {
    "scrutiny": "Scrutiny (code review)",
    "user_testing": "User testing (black box)",
}


def _judgement_line(j: dict[str, Any]) -> str:
    why = "; ".join(j.get("reasons", [])[:2])
    extra = " — needs a person" if j.get("needs_human") else ""
    if j.get("escalated_to"):
        extra += f" (escalated to {j['escalated_to']})"
    return f"{j['key']}: {j['outcome']}{extra}" + (f" — {why}" if why else "")


def gate_lines(d: ReportData) -> list[str]:
    """The validators' verdicts per step and the risk gate's decision, as plain lines."""
    out = []
    for v in d.verdicts:
        title = VALIDATOR_TITLES.get(v["validator"], v["validator"])
        out.append(f"step {v.get('step_seq')}: {title}: {v['summary']}")
        out += [f"  - {_judgement_line(j)}" for j in v.get("judgements", [])]
        out += [f"  - finding: {f['message']}" for f in v.get("findings", [])
                if f.get("source") != "judge"][:6]  # fmt: skip
    if not d.verdicts:
        out.append("No validator ran.")
    if d.risk is not None:
        verb = "held for a person's review" if d.risk["held"] else "accepted automatically"
        out.append(
            f"Risk gate: score {d.risk['score']:.2f} (threshold {d.risk['threshold']:.2f}): {verb}"
        )
        out += [f"  - +{r['points']:.2f} {r['text']}" for r in d.risk.get("reasons", [])]
    if d.decision is not None:
        c = d.decision
        out.append(
            f"Review: {c['decision']} by {c['by']} at {c['at']}"
            + (f": {c['comment']}" if c.get("comment") else "")
        )
    elif d.risk is not None and d.risk["held"]:
        out.append(
            f"Review: waiting; decide with `localfactory review {d.run.id} --approve|--reject -m TEXT`"
        )
    return out


def render_markdown(d: ReportData) -> str:
    r = d.run
    out = [
        f"# localfactory run {r.id}: {r.spec_name}",
        "",
        f"**Result: {_verdict(d)}**",
        "",
        f"- Spec: `{r.spec_path}` (sha256 {r.spec_sha256[:12]})",
        f"- Started {r.created_at:%Y-%m-%d %H:%M:%S} UTC; working time {d.seconds:.0f} s over {len(d.steps)} steps",
        f"- Code-writing iterations: {d.iterations}; tokens: {d.tokens:,}",
    ]
    if r.replay_of:
        out.append(f"- Replay of run {r.replay_of} (no model was called)")
    if d.workspace:
        out.append(f"- Workspace: `{d.workspace}` (branch `run/{r.id}`)")
    if d.satisfaction:
        last = d.satisfaction[-1]
        out.append(
            f"- Holdout satisfaction: {_pct(last.get('overall'))} (target "
            f"{last.get('threshold', 1):.0%}; the code at step {last.get('step')})"
        )
    out += [
        "",
        "## Steps",
        "",
        "| # | stage | outcome | what happened | time | tokens | commit |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in d.steps:
        reason = s.reason.replace("|", "\\|").replace("\n", " ")[:160]
        out.append(
            f"| {s.seq} | {s.stage} | {s.outcome} | {reason} | {s.seconds:.1f} s | {s.tokens} | {s.commit} |"
        )
    out += ["", "## Checks (last run)", ""]
    if d.checks:
        t = d.checks.get("tests", {})
        out += [
            f"- Tests: {t.get('passed', 0)} of {t.get('total', 0)} passed ({d.checks.get('pytest_summary', '')})",
            f"- ruff: {'clean' if d.checks.get('ruff_ok') else d.checks.get('ruff_summary', 'errors')}",
            f"- mypy: {'clean' if d.checks.get('mypy_ok') else d.checks.get('mypy_summary', 'errors')}",
        ]
    else:
        out.append("No checks ran.")
    out += ["", "## Validators and risk gate", ""]
    out += [line if line.startswith("  ") else f"- {line}" for line in gate_lines(d)]
    out += ["", "## Satisfaction per iteration", ""]
    if not d.satisfaction:
        out.append("No holdout validation ran.")
    for sat in d.satisfaction:
        out.append(
            f"- step {sat['step']}: {_pct(sat.get('overall'))} ({sat.get('passed', 0)}/{sat.get('trajectories', 0)} trajectories)"
        )
        for sc in sat.get("scenarios", []):
            symptoms = "; ".join(sc.get("symptoms", [])[:2])
            out.append(
                f"  - {sc['name']}: {sc['passed']}/{sc['trajectories']}"
                + (f" — {symptoms}" if symptoms else "")
            )
    out += ["", "## Models", ""]
    out += [f"- {m}" for m in d.models] or ["No model was called."]
    for u in d.usage:
        out.append(f"- {u['role']}: {u['calls']} calls, {u['prompt_tokens']:,} prompt tokens ({u['cached_tokens']:,} from cache), "
                   f"{u['generated_tokens']:,} generated, {u['model_seconds']:.0f} s")  # fmt: skip
    if d.warnings:
        out += ["", "## Warnings", ""] + [f"- {w}" for w in d.warnings]
    if d.tests_source:
        out += ["", f"## Tests (`{d.test_path}`)", "", "```python", d.tests_source.rstrip(), "```"]
    if d.code_source:
        out += ["", f"## Code (`{d.code_path}`)", "", "```python", d.code_source.rstrip(), "```"]
    out += ["", "## Spec", "", "````markdown", d.spec_text.rstrip(), "````", ""]
    return "\n".join(out)


_CSS = """body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;font-size:13px}td,th{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}pre{background:#f7f7f7;padding:10px;overflow:auto;font-size:12px}
.ok{color:#176d2c}.bad{color:#a4161a}.verdict{font-size:1.2em;font-weight:600}code{background:#f2f2f2;padding:0 3px}"""


def render_html(d: ReportData) -> str:
    """One self-contained page (no scripts, no external resources) with the same content."""
    e = html.escape
    r = d.run
    good = r.state == "done"
    rows = "".join(
        f"<tr><td>{s.seq}</td><td>{e(s.stage)}</td><td class='{'bad' if s.outcome in ('failing', 'error', 'budget') else 'ok'}'>"
        f"{e(s.outcome)}</td><td>{e(s.reason[:300])}</td><td>{s.seconds:.1f}&nbsp;s</td><td>{s.tokens}</td><td><code>{e(s.commit)}</code></td></tr>"
        for s in d.steps
    )
    sat_items = (
        "".join(
            f"<li>step {sat['step']}: {_pct(sat.get('overall'))} ({sat.get('passed', 0)}/{sat.get('trajectories', 0)})<ul>"
            + "".join(
                f"<li>{e(sc['name'])}: {sc['passed']}/{sc['trajectories']} {e('; '.join(sc.get('symptoms', [])[:2]))}</li>"
                for sc in sat.get("scenarios", [])
            )
            + "</ul></li>"
            for sat in d.satisfaction
        )
        or "<li>No holdout validation ran.</li>"
    )
    checks = "<p>No checks ran.</p>"
    if d.checks:
        t = d.checks.get("tests", {})
        checks = (f"<ul><li>Tests: {t.get('passed', 0)} of {t.get('total', 0)} passed</li>"
                  f"<li>ruff: {'clean' if d.checks.get('ruff_ok') else e(str(d.checks.get('ruff_summary')))}</li>"
                  f"<li>mypy: {'clean' if d.checks.get('mypy_ok') else e(str(d.checks.get('mypy_summary')))}</li></ul>")  # fmt: skip
    usage = "".join(
        f"<tr><td>{e(u['role'])}</td><td>{u['calls']}</td><td>{u['prompt_tokens']:,}</td><td>{u['cached_tokens']:,}</td>"
        f"<td>{u['generated_tokens']:,}</td><td>{u['model_seconds']:.0f}&nbsp;s</td></tr>"
        for u in d.usage
    )
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>localfactory run {e(r.id)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Run {e(r.id)}: {e(r.spec_name)}</h1>",
        f"<p class='verdict {'ok' if good else 'bad'}'>{e(_verdict(d))}</p>",
        f"<p>Working time {d.seconds:.0f}&nbsp;s over {len(d.steps)} steps; {d.iterations} code-writing iterations; {d.tokens:,} tokens.</p>",
        "<h2>Steps</h2><table><tr><th>#</th><th>stage</th><th>outcome</th><th>what happened</th><th>time</th><th>tokens</th><th>commit</th></tr>",
        rows, "</table>",
        "<h2>Checks (last run)</h2>", checks,
        "<h2>Validators and risk gate</h2>", _html_lines(gate_lines(d)),
        "<h2>Satisfaction per iteration</h2><ul>", sat_items, "</ul>",
        "<h2>Models</h2><ul>", "".join(f"<li>{e(m)}</li>" for m in d.models) or "<li>No model was called.</li>", "</ul>",
        "<table><tr><th>role</th><th>calls</th><th>prompt tokens</th><th>from cache</th><th>generated</th><th>time</th></tr>", usage, "</table>",
    ]  # fmt: skip
    if d.warnings:
        parts += ["<h2>Warnings</h2><ul>", *(f"<li>{e(w)}</li>" for w in d.warnings), "</ul>"]
    if d.tests_source:
        parts += [
            f"<h2>Tests (<code>{e(d.test_path or '')}</code>)</h2><pre>{e(d.tests_source)}</pre>"
        ]
    if d.code_source:
        parts += [
            f"<h2>Code (<code>{e(d.code_path or '')}</code>)</h2><pre>{e(d.code_source)}</pre>"
        ]
    parts += [f"<h2>Spec</h2><pre>{e(d.spec_text)}</pre></body></html>"]
    return "".join(parts)


def _html_lines(lines: list[str]) -> str:
    """Top-level lines as list items, indented ``  - `` lines nested in the item before."""
    e = html.escape
    items: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith("  - ") and items:
            items[-1][1].append(line[4:])
        else:
            items.append((line, []))
    return (
        "<ul>"
        + "".join(
            f"<li>{e(top)}"
            + ("<ul>" + "".join(f"<li>{e(x)}</li>" for x in sub) + "</ul>" if sub else "")
            + "</li>"
            for top, sub in items
        )
        + "</ul>"
    )


def report_folder(settings: Settings, run_id: str) -> Path:
    """Where a run's reports are written: ``.localfactory/reports/<run>/`` beside the store."""
    return settings.store_path().parent / "reports" / run_id


def write_report(data: ReportData, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    md, page = folder / "report.md", folder / "report.html"
    md.write_text(render_markdown(data), encoding="utf-8")
    page.write_text(render_html(data), encoding="utf-8")
    return md, page
