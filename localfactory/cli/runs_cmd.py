"""``localfactory runs ...``: list, inspect, follow, resume, replay, report and audit runs."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from localfactory.store import RunStore

app = typer.Typer(
    help="Runs of the factory: list, show, log, resume, replay, report, audit.",
    no_args_is_help=True,
)

RUN = typer.Argument(..., help="A run id, a unique prefix of one, or 'latest'.")


def _store() -> RunStore:
    from localfactory.cli.common import settings
    from localfactory.store import open_store

    return open_store(settings())


@app.command("list")
def list_runs(
    status: str | None = typer.Option(
        None, help="Only runs in this status (running, succeeded, failed...)."
    ),
    spec: str | None = typer.Option(None, help="Only runs of this spec."),
    limit: int = typer.Option(20, "-n", help="How many runs to show, newest first."),
) -> None:
    """The newest runs of this project."""
    store = _store()
    runs = store.list_runs(status=status, spec_name=spec, limit=limit)
    if not runs:
        typer.echo("No runs yet: start one with `localfactory run SPEC`.")
        return
    typer.echo(f"{'run':<24} {'spec':<20} {'status':<10} {'state':<12} {'tokens':>8}  error")
    for r in runs:
        tokens = sum(u.prompt_tokens + u.generated_tokens for u in store.usage(r.id))
        typer.echo(
            f"{r.id:<24} {r.spec_name[:20]:<20} {r.status.value:<10} {r.state:<12} {tokens:>8}  {(r.error or '')[:60]}"
        )


@app.command("show")
def show(run: str = RUN) -> None:
    """A run's spec, state, and every step with its outcome."""
    store = _store()
    r = store.find_run(run)
    typer.echo(f"run {r.id}  spec {r.spec_name} ({r.spec_path})")
    typer.echo(
        f"status {r.status.value}, state {r.state}"
        + (f", replay of {r.replay_of}" if r.replay_of else "")
    )
    if r.error:
        typer.echo(f"error: {r.error}")
    typer.echo("")
    for s in store.steps(r.id):
        out = s.output or {}
        end = s.finished_at or s.started_at
        seconds = (end - s.started_at).total_seconds()
        typer.echo(
            f"{s.seq:>3} {s.name:<12} {s.status.value:<9} {out.get('outcome', '')!s:<8} {seconds:6.1f}s  {str(out.get('reason', s.error or ''))[:90]}"
        )
    usage = store.usage(r.id)
    if usage:
        typer.echo("")
        for u in usage:
            typer.echo(
                f"{u.role:<12} {u.calls} calls, {u.prompt_tokens} prompt tokens ({u.cached_tokens} cached), {u.generated_tokens} generated"
            )


@app.command("log")
def log(
    run: str = RUN,
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Keep printing new lines until the run ends."
    ),
) -> None:
    """A run's log: transitions and messages, oldest first."""
    from localfactory.factory.run_log import RunLog

    store = _store()
    r = store.find_run(run)
    follower = RunLog(store, r.id)
    while True:
        ended = store.get_run(r.id).status.is_final  # before reading: no last line is missed
        for line in follower.new_lines():
            typer.echo(line)
        if not follow or ended:
            return
        time.sleep(1.0)


@app.command("resume")
def resume(run: str = RUN) -> None:
    """Continue a run that was interrupted (killed, Ctrl-C, power loss) where it stopped."""
    from localfactory.cli.factory_common import finish, make_factory

    factory = make_factory()
    r = factory.store.find_run(run)
    if r.status.is_final:
        typer.echo(f"run {r.id} already ended ({r.status.value}); nothing to resume.")
        return
    finish(factory, r.id, lambda: factory.run(r.id))


@app.command("replay")
def replay(run: str = RUN) -> None:
    """Run again from the stored model outputs, calling no model: reproduces the run."""
    from localfactory.cli.factory_common import finish, make_factory

    factory = make_factory()
    r = factory.store.find_run(run)
    typer.echo(f"replaying run {r.id} from its stored model outputs (no model is called)")
    finish(factory, r.id, lambda: factory.replay(r.id))


@app.command("report")
def report(run: str = RUN) -> None:
    """Write the run's report again (Markdown and a self-contained HTML page) and print where."""
    from localfactory.cli.factory_common import make_factory

    factory = make_factory()
    md, page = factory.report(factory.store.find_run(run).id)
    typer.echo(f"{md}\n{page}")


@app.command("audit")
def audit(run: str = RUN) -> None:
    """Check every stored prompt of the run for holdout scenario content; fails on a leak."""
    from localfactory.cli.factory_common import make_factory
    from localfactory.factory.audit import audit_run

    factory = make_factory()
    r = factory.store.find_run(run)
    spec = factory.spec_of(r)
    folder = factory.settings.project_path(factory.settings.factory.scenarios_dir)
    result = audit_run(factory.store, r.id, spec, folder)
    for leak in result.leaks:
        typer.echo(
            f"LEAK: call {leak.call_seq} (step {leak.step_seq}, {leak.role}) contains {leak.fragment[:60]!r}"
        )
    typer.echo(
        f"checked {result.prompts_checked} prompts of generating roles against {result.fragments} scenario fragments: "
        + ("no leak" if not result.leaks else f"{len(result.leaks)} leak(s)")
    )
    if result.leaks:
        raise typer.Exit(1)
