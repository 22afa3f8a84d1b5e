"""The run store: every step of every factory run, persisted so runs can be traced,
resumed after a kill, replayed without a model, and reported on.

It is one SQLite file (``Settings.store_path()``, by default ``.localfactory/runs.db``) in
WAL mode with ``synchronous=FULL``: a writer commits each transaction durably while readers
(the TUI, ``localfactory runs ...`` in another process) keep reading. A process killed at any
moment leaves the file consistent: a transaction is in it entirely or not at all.

How the factory loop uses it (write-ahead):

1. ``create_run`` then ``claim_run`` (refuses if another live process works on the run).
2. For each step: ``begin_step`` → ``record_model_call`` for every model call → ``put_artifact``
   → ``finish_step`` or ``fail_step``, and ``record_transition`` (in the same
   ``transaction()`` as the step's closing) before acting on the new state.
3. To resume: ``get_run(...).state`` is the state to continue from; ``open_step`` is a step
   that was interrupted. Continue it: its recorded calls are found with
   ``model_call(run, step, nth)`` and reused instead of calling the model again, and
   ``put_artifact`` of the same name replaces the earlier write.
4. ``set_status`` at the end; ``release_run``.

Replay reads ``model_calls(run_id, step_seq)`` (``request_sha256`` tells when a replayed
request differs from the stored one: :func:`request_digest` computes it).

The schema is documented in :mod:`localfactory.store.schema`; run ids in
:mod:`localfactory.store.run_ids`.
"""

from __future__ import annotations

from localfactory.store.database import digest as request_digest
from localfactory.store.errors import (
    AmbiguousRunId,
    NotARunStore,
    RunBusy,
    RunNotFound,
    StaleState,
    StepError,
    StoreError,
    StoreTooNew,
    StoreUnavailable,
)
from localfactory.store.records import (
    Artifact,
    ArtifactInfo,
    LogLevel,
    LogLine,
    ModelCall,
    RoleUsage,
    Run,
    RunStatus,
    Step,
    StepStatus,
    Transition,
)
from localfactory.store.run_store import RunStore, open_store
from localfactory.store.schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "AmbiguousRunId",
    "Artifact",
    "ArtifactInfo",
    "LogLevel",
    "LogLine",
    "ModelCall",
    "NotARunStore",
    "RoleUsage",
    "Run",
    "RunBusy",
    "RunNotFound",
    "RunStatus",
    "RunStore",
    "StaleState",
    "Step",
    "StepError",
    "StepStatus",
    "StoreError",
    "StoreTooNew",
    "StoreUnavailable",
    "Transition",
    "open_store",
    "request_digest",
]
