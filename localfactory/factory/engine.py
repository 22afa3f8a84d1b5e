"""The orchestrator: runs a spec through the state machine, one persisted step at a time.

For every step: the step is opened in the run store; the stage runs (its model calls are
recorded as they happen); the workspace is committed with the run id and step; then, in
one transaction, the step is closed and the transition to the next state is written. Only
then does the next state begin. A run killed anywhere resumes from the store: an open step
runs again from the commit before it, with its recorded model answers, so no step is lost
or repeated and no model call is made twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localfactory.config import Settings
from localfactory.errors import UserError
from localfactory.factory import budget, checks, coding, holdout, stages
from localfactory.factory.calls import ChatFn, ModelGateway
from localfactory.factory.context import StageContext, StageResult
from localfactory.factory.layout import layout_for
from localfactory.factory.machine import (
    START,
    TERMINAL,
    TRANSITIONS,
    Outcome,
    State,
    next_state,
)
from localfactory.factory.verdicts import deliver, scrutinize
from localfactory.factory.workspace import Workspace
from localfactory.llm.backend import CallStopped, stoppable
from localfactory.sandbox import Limits, LocalSandbox, Sandbox
from localfactory.spec import Spec, load_spec, parse_spec, render_for_prompt
from localfactory.spec.scenario import load_scenarios
from localfactory.store import Run, RunStatus, RunStore

SPEC_ARTIFACT = "spec.md"


STAGES: dict[State, Callable[[StageContext], StageResult]] = {
    State.PLAN: stages.plan,
    State.WRITE_TESTS: stages.write_tests,
    State.CONFIRM_RED: checks.confirm_red,
    State.IMPLEMENT: coding.implement,
    State.CHECK: checks.check,
    State.SCRUTINIZE: scrutinize,
    State.STRENGTHEN_TESTS: stages.strengthen_tests,
    State.REPAIR: coding.repair,
    State.REVISE_TESTS: stages.revise_tests,
    State.VALIDATE: holdout.validate,
    State.EXTEND_TESTS: stages.extend_tests,
    State.DELIVER: deliver,
}
_ORDER = [State.PLAN, State.WRITE_TESTS, State.CONFIRM_RED, State.IMPLEMENT, State.CHECK,
          State.SCRUTINIZE, State.STRENGTHEN_TESTS, State.REVISE_TESTS, State.REPAIR,
          State.VALIDATE, State.EXTEND_TESTS, State.DELIVER]  # fmt: skip


class Factory:
    """Builds specs. ``chat`` is the router's ``chat`` (or a scripted one in unit tests)."""

    def __init__(
        self,
        settings: Settings,
        store: RunStore,
        *,
        chat: ChatFn | None = None,
        emit: Callable[[str], None] = print,
        make_sandbox: Callable[[Path, Limits], Sandbox] = LocalSandbox,
    ) -> None:
        self.settings = settings
        self.store = store
        self._chat = chat
        self.emit = emit
        self.make_sandbox = make_sandbox

    # -- starting, resuming, replaying ----------------------------------------------------
    def start(self, spec_path: Path) -> Run:
        """Record a new run of the spec at ``spec_path`` (not started yet: call :meth:`run`)."""
        spec = load_spec(spec_path)
        return self._create(
            spec_path.read_text(encoding="utf-8"),
            spec_name=spec.name,
            spec_path=spec_path.resolve(),
            spec_sha256=spec.content_hash(),
            settings=self.settings.model_dump(mode="json"),
            budget=spec.budget.model_dump(),
        )

    def replay(self, run_id: str) -> Run:
        """Run again from the stored model outputs of ``run_id``, calling no model."""
        original = self.store.find_run(run_id)
        run = self._create(
            self._spec_text(original.id),
            spec_name=original.spec_name,
            spec_path=original.spec_path,
            spec_sha256=original.spec_sha256,
            settings=original.settings,
            budget=original.budget,
            replay_of=original.id,
        )
        return self.run(run.id)

    def _create(self, spec_text: str, **fields: Any) -> Run:
        """A new run with its spec kept as it is now, in one transaction."""
        with self.store.transaction():
            run = self.store.create_run(state=START.value, **fields)
            self.store.put_artifact(run.id, SPEC_ARTIFACT, spec_text, kind="spec")
        return run

    def _spec_text(self, run_id: str) -> str:
        found = self.store.get_artifact(run_id, SPEC_ARTIFACT, kind="spec")
        if found is None:
            raise UserError(f"Run {run_id} has no stored spec; it cannot be resumed or replayed.")
        return found.text()

    def spec_of(self, run: Run) -> Spec:
        """The spec as it was when the run started (later edits of the file do not change a run)."""
        return parse_spec(self._spec_text(run.id), source=run.spec_path)

    def chat_fn(self, spec: Spec) -> ChatFn:
        if self._chat is not None:
            return self._chat
        from localfactory.llm.router import Router

        router = Router(self.settings)
        chosen = spec.models.chosen()

        def chat(role: str, messages: Any, **kwargs: Any) -> Any:
            if role in chosen:
                kwargs["model"] = chosen[role]
            return router.chat(role, messages, **kwargs)

        self._chat = chat
        return chat

    # -- the loop -------------------------------------------------------------------------
    def run(self, run_id: str, *, should_stop: Callable[[], bool] | None = None) -> Run:
        """Drive the run until it is done or failed; resumes an interrupted run where it stopped.

        ``should_stop`` is asked before each step begins, and while a model answers (after
        each chunk; see :func:`~localfactory.llm.backend.stoppable`). Once it says yes, the run
        is left unfinished for ``runs resume`` to continue: between steps, with every step
        closed; during one, with that step open, to run again from the commit before it (the
        answer in progress is dropped; the step's earlier answers are reused)."""
        run = self.store.claim_run(run_id)
        try:
            run = self._loop(run, should_stop)
        finally:
            self.store.release_run(run.id)
        if run.state in {s.value for s in TERMINAL}:
            _md, page = self.report(run.id)
            self.emit(f"report: {page}")
        return run

    def _retries(self, run_id: str, state: State) -> int:
        """How often ``state`` just ran without the run moving past it (only stages that can end
        with RETRY, or be sent back by one, are counted: a validate step that sends work to
        repair is doing its job, not failing to)."""
        if not any(src is state for (src, outcome) in TRANSITIONS if outcome is Outcome.RETRY):
            return 0
        count = 0
        for step in reversed(self.store.steps(run_id)):
            if step.status.value == "started":
                continue
            name = State(step.name)
            if state is State.REPAIR:
                if (
                    name is State.REPAIR
                    and (step.output or {}).get("outcome") == Outcome.RETRY.value
                ):
                    count += 1
                    continue
                break
            sent_back = (step.output or {}).get("outcome") == Outcome.RETRY.value
            if _ORDER.index(name) > _ORDER.index(state) and not sent_back:
                break
            if name is state:
                count += 1
        return count

    def _loop(self, run: Run, should_stop: Callable[[], bool] | None = None) -> Run:
        if run.status.is_final or State(run.state) in TERMINAL:
            return run  # a finished run is left exactly as it is
        spec = self.spec_of(run)
        layout = layout_for(spec)
        root = self.settings.project_path(self.settings.factory.workspace_dir) / spec.name
        ws = Workspace.create(root, branch=f"run/{run.id}")
        scenarios_dir = self.settings.project_path(self.settings.factory.scenarios_dir) / spec.name
        gateway = ModelGateway(
            self.store,
            run.id,
            None if run.replay_of else self.chat_fn(spec),
            replay_of=run.replay_of,
            holdout_fragments=holdout.leak_fragments(load_scenarios(scenarios_dir)),
            allowed_text=render_for_prompt(spec),
            greedy_by_default=self.settings.llm.temperature == 0,
        )
        if run.status is not RunStatus.RUNNING:
            self.store.set_status(run.id, RunStatus.RUNNING)
        step = self.store.open_step(run.id)
        if step is not None:
            ws.rewind_step(run.id, step.seq)
            self.emit(f"resuming run {run.id} at step {step.seq} ({step.name})")
        while True:
            state = State(self.store.get_run(run.id).state)
            if state in TERMINAL:
                break
            if step is None and should_stop is not None and should_stop():
                break  # between steps: what is done is committed and closed, nothing is half-way
            stop = budget.exhausted(self.store, run.id, spec.budget, next_stage=state.value)
            retry = self._retries(run.id, state)
            if stop is None and retry >= self.settings.factory.max_stage_retries:
                last = (self.store.steps(run.id)[-1].output or {}).get("reason", "")
                stop = (
                    f"the {state.value} stage produced unusable output {retry} times in a row"
                    + (f" (the last time: {last})" if last else "")
                )
            began = time.monotonic()
            if step is None:
                step = self.store.begin_step(run.id, state.value, input={"commit": ws.head()})
            gateway.at_step(step.seq)
            ctx = StageContext(
                settings=self.settings, spec=spec, spec_path=Path(run.spec_path), store=self.store,
                run_id=run.id, step_seq=step.seq, attempt=step.attempt, retry=retry, gateway=gateway,
                workspace=ws, layout=layout, emit=self.emit, make_sandbox=self.make_sandbox,
            )  # fmt: skip
            if stop is not None:
                # What the failed run leaves is measured, so its report says how good it is.
                result = StageResult(Outcome.BUDGET, stop, holdout.left_behind(ctx))
            else:
                self.emit(
                    f"[{step.seq:>2}] {state.value}{f' (retry {retry})' if retry else ''} ..."
                )
                try:
                    with stoppable(should_stop):
                        result = STAGES[state](ctx)
                except UserError as exc:
                    result = StageResult(Outcome.ERROR, str(exc))
                except CallStopped:
                    # Asked to stop while a model was answering: the step stays open, as if
                    # the run had been killed there, and runs again when the run resumes.
                    self.emit(f"     ■ stopped during step {step.seq} ({state.value}); "
                              "it runs again when the run resumes")  # fmt: skip
                    break
            result.output.setdefault("work_s", round(time.monotonic() - began, 3))
            self._close(run.id, state, step.seq, result, ws)
            step = None
        return self.store.get_run(run.id)

    def report(self, run_id: str) -> tuple[Path, Path]:
        """Write the run's report (Markdown and HTML) under ``.localfactory/reports/<run>/``."""
        from localfactory.factory.report import collect, report_folder, write_report

        run = self.store.find_run(run_id)
        spec = self.spec_of(run)
        layout = layout_for(spec)
        root = self.settings.project_path(self.settings.factory.workspace_dir) / spec.name
        data = collect(
            self.store,
            run.id,
            workspace=root,
            code_path=layout.code_path,
            test_path=layout.test_path,
        )
        md, page = write_report(data, report_folder(self.settings, run.id))
        self.store.put_artifact(run.id, "report.md", md.read_text(encoding="utf-8"), kind="report")
        return md, page

    def _close(
        self, run_id: str, state: State, seq: int, result: StageResult, ws: Workspace
    ) -> None:
        nxt = next_state(state, result.outcome)
        commit = ws.commit(f"{state.value}: {result.reason}"[:200], run_id=run_id, step=seq)
        output = {
            "outcome": result.outcome.value,
            "reason": result.reason,
            "commit": commit,
            **result.output,
        }
        with self.store.transaction():
            if result.outcome in (Outcome.ERROR, Outcome.BUDGET):
                self.store.fail_step(run_id, seq, result.reason, output=output)
            else:
                self.store.finish_step(run_id, seq, output=output)
            self.store.record_transition(
                run_id, state.value, nxt.value, reason=result.reason, step_seq=seq,
                payload={"outcome": result.outcome.value},
            )  # fmt: skip
            if nxt is State.DONE:
                self.store.set_status(run_id, RunStatus.SUCCEEDED)
            elif nxt is State.FAILED:
                self.store.set_status(run_id, RunStatus.FAILED, error=result.reason)
        mark = {"ok": "✓", "failing": "✗", "retry": "↻"}.get(result.outcome.value, "■")
        self.emit(f"     {mark} {result.reason} → {nxt.value}")
