"""Builds in the background: one factory run at a time in a worker thread, stoppable at any moment.

Watch mode and the TUI both hand their work to a :class:`Builder`: "build this spec" or
"resume this run". Requests wait in a queue and run one after another (a laptop has one
model loaded and a few cores; a second build at the same time would only slow both). A
request for a spec that is already waiting replaces the waiting one, so a burst of edits
becomes one build.

A build can be asked to stop. The engine asks the build's ``should_stop`` before each step
begins and while a model answers (see :meth:`Factory.run`): a stop between steps leaves every
step committed and closed; a stop during a model's answer drops that answer and leaves its
step open, to run again from the commit before it, as after a kill. Either way the run is
exactly what ``localfactory runs resume`` continues, and a stop takes a moment, not the
minutes a long answer takes on a small machine. A build stopped because a newer version of
its spec arrived (watch mode) is marked *cancelled* instead, with the reason (and its open
step failed with it), since the newer run replaces it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from localfactory.errors import UserError
from localfactory.store import Run, RunStatus, RunStore

if TYPE_CHECKING:
    from localfactory.config import Settings
    from localfactory.factory.engine import Factory

EventKind = Literal["queued", "started", "stopped", "ended", "refused"]


@dataclass(frozen=True)
class BuildRequest:
    """Build ``spec`` as a new run, or resume the run ``run_id``."""

    spec: Path | None = None
    run_id: str | None = None
    supersede: bool = False
    """A newer version of a spec being built stops that build (watch mode) instead of waiting."""

    @property
    def key(self) -> str:
        return str(self.spec.resolve()) if self.spec is not None else f"run:{self.run_id}"

    def describe(self) -> str:
        return str(self.spec) if self.spec is not None else f"run {self.run_id}"


@dataclass(frozen=True)
class BuildEvent:
    """Something a person should hear about a build; ``message`` says it in one sentence."""

    kind: EventKind
    message: str
    run_id: str | None = None
    spec: Path | None = None
    ok: bool = True


@dataclass
class _Job:
    request: BuildRequest
    run_id: str | None = None
    spec_path: str | None = None
    stop_reason: str | None = None
    """None while the build may go on; "stop" (leave it resumable) or "superseded"."""


def report_paths(settings: Settings, run_id: str) -> tuple[Path, Path]:
    """Where the run's Markdown and HTML reports are written (as :meth:`Factory.report` does)."""
    from localfactory.factory.report import report_folder

    folder = report_folder(settings, run_id)
    return folder / "report.md", folder / "report.html"


def ending(store: RunStore, run: Run) -> tuple[bool, str]:
    """How a finished run ended, as one sentence: delivered, held for review, or failed."""
    if run.state == "done":
        from localfactory.validators.review import risk_of

        risk = risk_of(store, run.id)
        if risk is not None and risk[0].held:
            return True, (
                f"built, and held for review (risk {risk[0].score:.2f}): decide with "
                f"`localfactory review {run.id} --approve` or `--reject -m TEXT`"
            )
        return True, f"delivered: run {run.id} succeeded"
    return False, f"run {run.id} failed: {run.error}"


def resume_hint(run_ids: list[str]) -> str:
    """What to tell a person leaving runs unfinished (empty when there are none)."""
    return "".join(
        f"run {r} is kept as it was; continue it with `localfactory runs resume {r}`\n"
        for r in run_ids
    ).rstrip("\n")


class Builder:
    """One worker thread building requests in turn; ``on_event`` hears what happens (from that thread)."""

    def __init__(self, factory: Factory, on_event: Callable[[BuildEvent], None]) -> None:
        self.factory = factory
        self.on_event = on_event
        self._pending: list[BuildRequest] = []
        self._job: _Job | None = None
        self._closed = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Condition()

    @property
    def store(self) -> RunStore:
        return self.factory.store

    # -- what callers do ---------------------------------------------------------------
    def submit(self, request: BuildRequest) -> None:
        """Queue a build; one already waiting for the same spec (or run) is replaced by it."""
        with self._lock:
            if self._closed:
                return
            job = self._job
            building_it = job is not None and _same_spec(job, request)
            if building_it and request.supersede and job is not None:
                job.stop_reason = "superseded"
            waiting = [i for i, r in enumerate(self._pending) if r.key == request.key]
            if waiting:
                self._pending[waiting[0]] = request
            elif request.supersede and building_it:
                self._pending.insert(0, request)
            else:
                self._pending.append(request)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="builder", daemon=True)
                self._thread.start()
            self._lock.notify_all()
        if job is not None and not building_it:
            now = f"run {job.run_id}" if job.run_id else job.request.describe()
            self.on_event(BuildEvent("queued", f"queued {request.describe()}: it starts once "
                                     f"{now} is built", spec=request.spec))  # fmt: skip

    def stop(self, run_id: str | None = None) -> bool:
        """Ask the build in progress (only if it is ``run_id``, when given) to stop after its
        current step, leaving the run resumable; False when there is no such build."""
        with self._lock:
            job = self._job
            if job is None or (run_id is not None and job.run_id != run_id):
                return False
            job.stop_reason = job.stop_reason or "stop"
            return True

    @property
    def building(self) -> str | None:
        """The run being built now, if any."""
        job = self._job
        return None if job is None else job.run_id

    @property
    def waiting(self) -> list[BuildRequest]:
        with self._lock:
            return list(self._pending)

    def close(self, wait_s: float = 2.0) -> list[str]:
        """Stop taking work, ask the build in progress to stop, wait up to ``wait_s`` for it;
        returns the runs left unfinished (each can be resumed)."""
        with self._lock:
            self._closed = True
            self._pending.clear()
            if self._job is not None:
                self._job.stop_reason = "stop"  # resumable: no newer version will be built now
            self._lock.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(wait_s)
        job = self._job
        if job is None or job.run_id is None:
            return []
        return [] if self.store.get_run(job.run_id).status.is_final else [job.run_id]

    # -- the worker thread -----------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                job = self._job = _Job(self._pending.pop(0))
            try:
                said = self._build(job)
            except Exception as exc:  # a bug must not end the builder thread and all later builds
                said = self._event("refused", f"{job.request.describe()}: the build stopped on "
                                   f"an unexpected error ({type(exc).__name__}: {exc})", None,
                                   ok=False)  # fmt: skip
            with self._lock:
                if not self._closed:  # once closed, the last job says what was left unfinished
                    self._job = None
            if said is not None:
                self.on_event(said)

    def _build(self, job: _Job) -> BuildEvent | None:
        """Build one request; returns what to say once it is over (said after the job is cleared)."""
        from localfactory.sandbox.selection import prepare

        request = job.request
        try:
            prepare(self.factory.make_sandbox)
            if request.spec is not None:
                run = self.factory.start(request.spec)
            else:
                run = self.store.find_run(request.run_id or "")
                if run.status.is_final:
                    return self._event("refused", f"run {run.id} already ended "
                                       f"({run.status.value}); nothing to resume", run, ok=False)  # fmt: skip
            with self._lock:
                job.run_id, job.spec_path = run.id, run.spec_path
                superseded = job.stop_reason == "superseded"
            if superseded:  # a newer version arrived before it began: it is replaced, unbuilt
                self.store.set_status(run.id, RunStatus.CANCELLED, error=_SUPERSEDED)
                return None
            _md, page = report_paths(self.factory.settings, run.id)
            verb = f"building {run.spec_name} from {request.spec}" if request.spec else "resuming"
            self.on_event(self._event("started", f"run {run.id}: {verb}; its report will be "
                                      f"written to {page}", run))  # fmt: skip
            run = self.factory.run(run.id, should_stop=lambda: job.stop_reason is not None)
            if not run.status.is_final and job.stop_reason is not None:
                return self._stopped(job)
        except UserError as exc:
            return self._event("refused", f"{request.describe()}: {exc}", None,
                               spec=request.spec, ok=False)  # fmt: skip
        ok, sentence = ending(self.store, run)
        _md, page = report_paths(self.factory.settings, run.id)
        return self._event("ended", f"{sentence}; report: {page}", run, ok=ok)

    def _stopped(self, job: _Job) -> BuildEvent:
        assert job.run_id is not None
        last = self.store.last_step(job.run_id)
        during = last is not None and last.status.value == "started"  # a model was answering
        after = ""
        if last is not None:
            after = f" {'during' if during else 'after'} step {last.seq} ({last.name})"
        if job.stop_reason == "superseded":
            with self.store.transaction():
                if last is not None and during:
                    self.store.fail_step(job.run_id, last.seq, _SUPERSEDED)
                run = self.store.set_status(job.run_id, RunStatus.CANCELLED, error=_SUPERSEDED)
            said = f"run {run.id} stopped{after}: its spec was edited, so the new version is built"
            return self._event("stopped", said, run)
        run = self.store.get_run(job.run_id)
        said = f"run {run.id} stopped{after}; continue it with `localfactory runs resume {run.id}`"
        return self._event("stopped", said, run)

    @staticmethod
    def _event(
        kind: EventKind, message: str, run: Run | None, *, spec: Path | None = None,
        ok: bool = True,
    ) -> BuildEvent:  # fmt: skip
        where = Path(run.spec_path) if run is not None else spec
        return BuildEvent(kind, message, run.id if run else None, where, ok)


_SUPERSEDED = "stopped: the spec was edited while it was being built; a newer run builds it"


def _same_spec(job: _Job, request: BuildRequest) -> bool:
    if request.spec is None:
        return job.request.key == request.key
    mine = job.request.spec or (Path(job.spec_path) if job.spec_path else None)
    return mine is not None and mine.resolve() == request.spec.resolve()
