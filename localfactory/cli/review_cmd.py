"""``localfactory review``: the changes held by the risk gate, and a person's decision on each.

``localfactory review`` lists held runs; ``localfactory review RUN`` shows why one was held;
``localfactory review RUN --approve|--reject -m TEXT`` records the decision and who made it.
An approved change is delivered (the spec's ``delivered`` branch moves to it); a rejection's
comment becomes feedback for the next factory run of the same spec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from localfactory.errors import UserError

if TYPE_CHECKING:
    from localfactory.store import RunStore


def _store() -> RunStore | None:
    from localfactory.cli.common import settings
    from localfactory.store import open_store

    s = settings()
    return open_store(s) if s.store_path().exists() else None


def _list(store: RunStore | None, *, include_decided: bool) -> None:
    from localfactory.validators.review import DONE, decision_of, held_runs

    held = held_runs(store, include_decided=include_decided) if store is not None else []
    if not held:
        typer.echo("No runs are waiting for review.")
        return
    typer.echo(f"{'RUN':<22}  {'SPEC':<20}  {'RISK':>4}  {'STATUS':<10}  WHY")
    for h in held:
        decided = decision_of(store, h.run.id) if store is not None else None
        status = "waiting" if decided is None else DONE[decided.decision]
        why = h.risk.reasons[0].text if h.risk.reasons else ""
        typer.echo(
            f"{h.run.id:<22}  {h.run.spec_name:<20}  {h.risk.score:>4.2f}  {status:<10}  {why}"
        )


def _show(store: RunStore, run_ref: str) -> None:
    from localfactory.validators.records import latest_verdicts
    from localfactory.validators.review import DONE, decision_of, risk_of

    run = store.find_run(run_ref)
    found = risk_of(store, run.id)
    if found is None:
        typer.echo(f"Run {run.id} ({run.spec_name}) has no risk assessment: it was not gated.")
        return
    risk, commit = found
    verb = "held for review" if risk.held else "accepted automatically"
    typer.echo(f"Run {run.id} ({run.spec_name}): risk {risk.score:.2f}, threshold "
               f"{risk.threshold:.2f}: {verb}" + (f" (commit {commit[:10]})" if commit else ""))  # fmt: skip
    for reason in risk.reasons:
        typer.echo(f"  +{reason.points:.2f}  {reason.text}")
    for verdict in latest_verdicts(store, run.id):
        typer.echo(f"  {verdict['summary']}")
    decided = decision_of(store, run.id)
    if decided is not None:
        note = f": {decided.comment}" if decided.comment else ""
        typer.echo(f"{DONE[decided.decision].capitalize()} by {decided.by} at {decided.at}{note}")


def register(app: typer.Typer) -> None:
    @app.command("review")
    def review(
        run: Annotated[
            str | None,
            typer.Argument(
                metavar="RUN",
                help="A held run: its id, a unique prefix, or 'latest'. Omit to list.",
            ),
        ] = None,
        approve: Annotated[bool, typer.Option("--approve", help="Accept the change.")] = False,
        reject: Annotated[bool, typer.Option("--reject", help="Turn the change down.")] = False,
        message: Annotated[
            str,
            typer.Option(
                "-m", "--message", help="Why (required to reject: the next run reads it)."
            ),
        ] = "",
        by: Annotated[
            str | None, typer.Option(help="Who decides (default: the logged-in user).")
        ] = None,
        all_runs: Annotated[bool, typer.Option("--all", help="List decided runs too.")] = False,
    ) -> None:
        """List changes held by the risk gate, show one, or approve or reject it."""
        from localfactory.cli.common import settings

        if approve and reject:
            raise UserError("Choose one of --approve and --reject, not both.")
        store = _store()
        if run is None:
            if approve or reject:
                raise UserError(
                    "Say which run to decide on.", hint="localfactory review RUN --approve"
                )
            _list(store, include_decided=all_runs)
            return
        if store is None:
            raise UserError(
                f"There is no run store at {settings().store_path()}, so no run {run!r}.",
                hint="Run the factory first, or check store.path in localfactory.toml.",
            )
        if not (approve or reject):
            _show(store, run)
            return
        from localfactory.validators.review import record_decision

        typer.echo(record_decision(settings(), store, run, "approve" if approve else "reject",
                                   comment=message, by=by))  # fmt: skip
