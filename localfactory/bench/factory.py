"""``localfactory bench factory SUITE``: the factory against single-shot generation.

For every spec of a suite (a folder of specs, graded by the subfolder they sit in:
``easy/``, ``medium/``, ``hard/``), two sides run one after the other with the same model:

(a) single-shot: one coder call with the rendered spec asking for the whole module, its
    files written to a fresh folder;
(b) the factory: a full :class:`~localfactory.factory.engine.Factory` run in a fresh
    project folder, every role on the same model.

Then the spec's holdout scenarios run against what each side produced, with the factory's
own scenario runner, on fresh random inputs (:func:`final_draw`): the factory's own holdout
stage runs the scenarios as written and chooses among its answers by them, so judging it on
those very trajectories would favour it over single-shot, which never sees them. A side
*solves* a spec when every scenario trajectory passes (and,
for the factory, the run succeeded: a failed run delivers nothing to its user). The
report gives, per spec and overall, solved, satisfaction, time and tokens, the solve rates,
and PASS/MISS against the target: the factory beats single-shot by at least 15 points.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from localfactory.bench.factory_report import (
    LEVELS,
    Attempt,
    BenchReport,
    SpecResult,
    table_header,
    table_row,
    verdict_line,
)
from localfactory.config import RoleSettings, Settings, StoreSettings
from localfactory.errors import PromptTooLong, UserError
from localfactory.factory import budget, prompts
from localfactory.factory.calls import ChatFn
from localfactory.factory.context import StageContext
from localfactory.factory.engine import Factory
from localfactory.factory.extract import extract_files
from localfactory.factory.holdout import Satisfaction, run_scenarios
from localfactory.factory.layout import layout_for
from localfactory.factory.workspace import UnsafePath, Workspace
from localfactory.llm.call import Message
from localfactory.sandbox import Limits, LocalSandbox, Sandbox
from localfactory.sandbox.selection import prepare, sandbox_maker
from localfactory.spec import Spec, load_spec, render_for_prompt
from localfactory.spec.scenario import Scenario, load_scenarios
from localfactory.spec.starter import examples_dir
from localfactory.store import RunStatus, RunStore

DEFAULT_SUITE = "examples/suite"
FINAL_SEED_OFFSET = 104_729
"""Added to each scenario's seed for the bench's own judgement (see :func:`final_draw`)."""
SINGLE_SHOT_TOKENS = 2048
"""The same cap the factory's coder has for one file."""

SINGLE_SHOT = (
    """Here is a specification of software to build.

{spec}

Write the complete implementation in `{path}`. Implement every function of the interface with
exactly the given signature, following the acceptance criteria.

"""
    + prompts.FILE_FORMAT
)

SINGLE_SHOT_ANSWER = "answer.md"
"""The single-shot answer as the model gave it, kept beside the files taken from it."""

MakeSandbox = Callable[[Path, Limits], Sandbox]


@dataclass(frozen=True)
class SuiteSpec:
    path: Path
    spec: Spec
    level: str
    """The subfolder the spec sits in (``easy``, ``medium``, ``hard``), or ``-``."""
    scenarios: list[Scenario]
    """As written: what the factory's holdout stage runs."""

    @property
    def judged(self) -> list[Scenario]:
        """What the bench judges both sides by: the same stories, fresh random inputs."""
        return final_draw(self.scenarios)


def final_draw(scenarios: list[Scenario]) -> list[Scenario]:
    """``scenarios`` with other seeds: the same steps, other random ``vars`` per trajectory.

    A scenario without ``vars`` is the same story either way."""
    return [s.model_copy(update={"seed": s.seed + FINAL_SEED_OFFSET}) for s in scenarios]


# -- the suite -------------------------------------------------------------------------
def load_suite(
    folder: Path, *, only: Sequence[str] = (), limit: int | None = None, scenarios_dir: Path
) -> list[SuiteSpec]:
    """The suite's specs (easy first, then by name), each with its holdout scenarios."""
    if not folder.is_dir():
        raise UserError(
            f"The suite {folder} is not a folder.",
            hint="Give a folder of spec files, such as examples/suite.",
        )
    paths = [p for p in folder.rglob("*.md") if p.name.lower() != "readme.md"]
    entries = []
    for path in paths:
        level = path.parent.name if path.parent != folder else "-"
        spec = load_spec(path)
        entries.append((path, spec, level))
    order = {lvl: i for i, lvl in enumerate(LEVELS)}
    entries.sort(key=lambda e: (order.get(e[2], len(LEVELS)), e[1].name))
    if only:
        wanted = {n.strip() for name in only for n in name.split(",") if n.strip()}
        unknown = wanted - {e[1].name for e in entries}
        if unknown:
            raise UserError(
                f"The suite {folder} has no spec named {', '.join(sorted(unknown))}.",
                hint="Spec names: " + ", ".join(e[1].name for e in entries),
            )
        entries = [e for e in entries if e[1].name in wanted]
    if limit is not None:
        entries = entries[:limit]
    if not entries:
        raise UserError(f"The suite {folder} has no specs to run.", hint="Add *.md spec files.")
    suite = []
    for path, spec, level in entries:
        scenarios = load_scenarios(scenarios_dir / spec.name)
        if not scenarios:
            raise UserError(
                f"The spec {spec.name} has no holdout scenarios in {scenarios_dir / spec.name}.",
                hint="The bench judges both sides by the scenarios: add them, or pass --scenarios.",
            )
        suite.append(SuiteSpec(path, spec, level, scenarios))
    return suite


def find_scenarios_dir(suite: Path, settings: Settings) -> Path:
    """The ``scenarios/`` folder beside the suite's repository, else the settings' one."""
    for folder in suite.resolve().parents:
        if (folder / "scenarios").is_dir():
            return folder / "scenarios"
    return settings.project_path(settings.factory.scenarios_dir)


def bench_settings(base: Settings, model: str) -> Settings:
    """``base`` with every role on ``model`` (through the coder's backend)."""
    backend = base.role("coder").backend
    roles = {name: RoleSettings(model=model, backend=backend) for name in base.roles}
    return base.model_copy(update={"roles": roles})


# -- judging ---------------------------------------------------------------------------
def holdout_score(
    spec: Spec,
    folder: Path,
    scenarios: list[Scenario],
    make_sandbox: MakeSandbox = LocalSandbox,
) -> Satisfaction:
    """The scenarios run against the software in ``folder`` by the factory's own runner."""

    def sandbox(*, wall_time_s: float | None = None) -> Sandbox:
        return make_sandbox(folder, Limits(wall_time_s=wall_time_s or 60.0))

    # run_scenarios reads only these three things of a stage's context.
    site = types.SimpleNamespace(spec=spec, workspace=Workspace(folder), sandbox=sandbox)
    return Satisfaction(run_scenarios(cast(StageContext, site), scenarios), threshold=1.0)


def _attempt(sat: Satisfaction, seconds: float, tokens: int, status: str) -> Attempt:
    return Attempt(
        solved=sat.trajectories > 0 and sat.passed == sat.trajectories,
        satisfaction=sat.overall,
        passed=sat.passed,
        trajectories=sat.trajectories,
        seconds=round(seconds, 2),
        tokens=tokens,
        status=status,
        load=round(os.getloadavg()[0], 2),
    )


def single_shot(
    entry: SuiteSpec, chat: ChatFn, folder: Path, make_sandbox: MakeSandbox = LocalSandbox
) -> Attempt:
    """One coder call for the whole module; its files written to ``folder``, then judged."""
    spec, layout = entry.spec, layout_for(entry.spec)
    folder.mkdir(parents=True, exist_ok=True)
    prompt = SINGLE_SHOT.format(spec=render_for_prompt(spec), path=layout.code_path)
    messages = [
        Message(role="system", content=prompts.SYSTEM),
        Message(role="user", content=prompt),
    ]
    started = time.monotonic()
    try:
        result = chat("coder", messages, options={"max_tokens": SINGLE_SHOT_TOKENS})
    except PromptTooLong as exc:
        return _attempt(Satisfaction([], 1.0), time.monotonic() - started, 0, exc.message)
    seconds = time.monotonic() - started
    tokens = result.prompt_tokens + result.generated_tokens
    (folder / SINGLE_SHOT_ANSWER).write_text(result.text)  # to see why a side lost, later
    ws = Workspace(folder)
    for path, content in layout.extra_files:
        ws.write(path, content)
    found = extract_files(result.text, expected=[layout.code_path])
    status = (
        "ok" if any(e.path == layout.code_path for e in found.edits) else "no code for the module"
    )
    for edit in found.edits:
        if edit.path.endswith(".py") and not edit.path.startswith("tests/"):
            try:
                ws.write(edit.path, edit.content)
            except UnsafePath:
                continue
    return _attempt(
        holdout_score(spec, folder, entry.judged, make_sandbox), seconds, tokens, status
    )


def factory_run(
    entry: SuiteSpec,
    chat: ChatFn,
    settings: Settings,
    project: Path,
    scenarios_dir: Path,
    *,
    emit: Callable[[str], None],
    make_sandbox: MakeSandbox = LocalSandbox,
    resume: bool = False,
) -> tuple[Attempt, str | None]:
    """A full factory run in the fresh project folder ``project``, then judged like single-shot.

    With ``resume``, the newest run of the spec that an interrupted bench left in ``project``
    goes on where it stopped (a finished one is only judged); its time is the working time the
    run store recorded before (the step that was cut off runs again and is charged once), plus
    this process's."""
    project.mkdir(parents=True, exist_ok=True)
    factory_settings = settings.factory.model_copy(
        update={"scenarios_dir": scenarios_dir.resolve()}
    )
    run_settings = settings.model_copy(
        update={"project_dir": project, "factory": factory_settings, "store": StoreSettings()}
    )
    store = RunStore(run_settings.store_path())
    factory = Factory(run_settings, store, chat=chat, emit=emit, make_sandbox=make_sandbox)
    earlier = store.list_runs(spec_name=entry.spec.name, limit=1) if resume else []
    before_s = 0.0
    if earlier:
        run = earlier[0]
        before_s = budget.seconds_used(store, run.id)
        emit(f"the interrupted bench's run {run.id} goes on ({before_s:.0f} s of work so far)")
    else:
        run = factory.start(entry.path)
    started = time.monotonic()
    try:
        run = factory.run(run.id)
        status = run.status.value if run.error is None else f"{run.status.value}: {run.error}"
    except Exception as exc:  # one crashed run must not end a long benchmark; it is reported
        status = f"crashed: {type(exc).__name__}: {exc}"
        emit(f"the factory crashed on {entry.spec.name}: {status}")
    seconds = before_s + time.monotonic() - started
    tokens = sum(u.prompt_tokens + u.generated_tokens for u in store.usage(run.id))
    store.close()
    root = run_settings.project_path(run_settings.factory.workspace_dir) / entry.spec.name
    if root.is_dir():
        sat = holdout_score(entry.spec, root, entry.judged, make_sandbox)
    else:
        sat = Satisfaction([], 1.0)
    attempt = _attempt(sat, seconds, tokens, status)
    # A run that failed delivered nothing, whatever its last code would have passed.
    attempt.solved = attempt.solved and run.status is RunStatus.SUCCEEDED
    return attempt, run.id


def run_bench(
    suite: list[SuiteSpec],
    settings: Settings,
    chat: ChatFn,
    *,
    model: str,
    suite_name: str,
    workdir: Path,
    scenarios_dir: Path,
    json_path: Path,
    out: Callable[[str], None] = print,
    say: Callable[[str], None] = print,
    make_sandbox: MakeSandbox = LocalSandbox,
    earlier: BenchReport | None = None,
    resume: bool = False,
) -> BenchReport:
    """Both sides on every spec; a table row as each spec ends, the JSON file kept up to date.

    Specs with a result in ``earlier`` (an interrupted bench's report) keep it and are not
    run again. With ``resume``, the factory run of the spec the interrupted bench was on goes
    on where it stopped (its single-shot side, a minute at most, runs again)."""
    report = BenchReport(model=model, suite=suite_name, workdir=str(workdir))
    kept = {r.name: r for r in earlier.results} if earlier else {}
    for line in table_header():
        out(line)
    for i, entry in enumerate(suite, 1):
        name = entry.spec.name
        if name in kept:
            report.results.append(kept[name])
            say(f"[{i}/{len(suite)}] {name}: kept from the earlier run")
            out(table_row(kept[name]))
            continue
        # What an interrupted bench left of this spec: the factory's run store is kept to resume.
        for side in ("single-shot",) if resume else ("single-shot", "factory"):
            shutil.rmtree(workdir / side / name, ignore_errors=True)
        say(f"[{i}/{len(suite)}] {name} ({entry.level}): single-shot ...")
        single = single_shot(entry, chat, workdir / "single-shot" / name, make_sandbox)
        say(f"[{i}/{len(suite)}] {name}: single-shot {verdict_line(single)}; factory ...")
        factory, run_id = factory_run(
            entry, chat, settings, workdir / "factory" / name, scenarios_dir,
            emit=lambda line: say(f"    {line.strip()}"), make_sandbox=make_sandbox, resume=resume,
        )  # fmt: skip
        result = SpecResult(name, entry.level, single, factory, run_id)
        report.results.append(result)
        say(f"[{i}/{len(suite)}] {name}: factory {verdict_line(factory)} (run {run_id})")
        out(table_row(result))
        report.write_json(json_path)
    out("")
    for line in report.summary_lines():
        out(line)
    return report


def _earlier_report(path: Path, model: str) -> BenchReport | None:
    """The results an interrupted bench left in ``path`` (none yet is not an error)."""
    if not path.is_file():
        return None
    try:
        earlier = BenchReport.load(path)
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(
            f"{path} is not a bench factory result file ({type(exc).__name__}: {exc}).",
            hint="Resume with the --workdir or --json of the interrupted bench.",
        ) from None
    if earlier.model != model:
        raise UserError(
            f"{path} holds results for {earlier.model}, not {model}: "
            "a bench measures both sides with one model.",
            hint=f"Resume with --model {earlier.model}, or start in a new --workdir.",
        )
    return earlier


def main(
    base: Settings,
    suite_dir: Path,
    *,
    model: str | None = None,
    limit: int | None = None,
    only: Sequence[str] = (),
    scenarios: Path | None = None,
    workdir: Path | None = None,
    json_path: Path | None = None,
    resume: bool = False,
    chat: ChatFn | None = None,
    out: Callable[[str], None] = print,
    say: Callable[[str], None] = print,
) -> BenchReport:
    """What ``localfactory bench factory`` does: load the suite, run both sides, report.

    With ``resume``, the specs already in the result file (of an interrupted bench in the same
    ``workdir``, with the same model) keep their results and the rest run."""
    if not suite_dir.is_dir() and suite_dir == Path(DEFAULT_SUITE):
        suite_dir = examples_dir() / "suite"  # run from outside a checkout: the bundled copy
    model = model or base.role("coder").model
    settings = bench_settings(base, model)
    scenarios_dir = scenarios or find_scenarios_dir(suite_dir, settings)
    suite = load_suite(suite_dir, only=only, limit=limit, scenarios_dir=scenarios_dir)
    if resume and workdir is None and json_path is None:
        raise UserError(
            "--resume needs the interrupted bench's --workdir (or its --json file).",
            hint="The first lines of the interrupted bench said where its outputs were.",
        )
    earlier = None
    if resume:
        workdir = workdir or cast(Path, json_path).resolve().parent
        earlier = _earlier_report(json_path or workdir / "bench-factory.json", model)
    if chat is None:
        from localfactory.llm.router import EMBEDDED, Router
        from localfactory.models import catalog

        if settings.role("coder").backend == EMBEDDED:
            catalog.installed_gguf(model, settings)  # a missing model is said before any work
        chat = Router(settings).chat
    make_sandbox = sandbox_maker(settings, say)
    prepare(make_sandbox)  # no engine is said, and the image built, before any model works
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="localfactory-bench-"))
    workdir = workdir.resolve()
    json_path = json_path or workdir / "bench-factory.json"
    say(
        f"localfactory bench factory: {len(suite)} spec(s) from {suite_dir} with {model}; "
        f"outputs and run stores in {workdir}; both sides judged by the holdout scenarios "
        "on fresh random inputs"
    )
    report = run_bench(
        suite, settings, chat, model=model, suite_name=str(suite_dir), workdir=workdir,
        scenarios_dir=scenarios_dir, json_path=json_path, out=out, say=say,
        make_sandbox=make_sandbox, earlier=earlier, resume=resume,
    )  # fmt: skip
    out(f"results: {json_path}")
    return report
