"""What ``localfactory twin new`` does: wire the scaffold to the coder model and say what came out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from localfactory.twins.catalog import all_twins
from localfactory.twins.scaffold import REPORT, NewTwin, new_twin

if TYPE_CHECKING:
    from localfactory.config import Settings


def build_twin(
    settings: Settings,
    name: str,
    source: Path,
    *,
    out: Path | None = None,
    model: str | None = None,
    use_model: bool = True,
    force: bool = False,
    max_repairs: int = 3,
    say: Callable[[str], None] = print,
) -> NewTwin:
    """Build the twin; with ``use_model`` the coder model writes the handlers left open."""
    chosen: str | None = None
    agent = None
    if use_model:
        from localfactory.llm.router import Router
        from localfactory.twins.agent_handlers import HandlerAgent

        router = Router(settings)
        chosen = model or router.route("coder")[1]
        agent = HandlerAgent(router, model=chosen, max_repairs=max_repairs, say=say)
    built = new_twin(name, source, out, write_handlers=agent, model=chosen, force=force, say=say)
    for line in summary(built):
        say(line)
    return built


def summary(built: NewTwin) -> list[str]:
    """What the user reads after ``twin new``: where it is, what works, how to start it."""
    lines = [f"Wrote the {built.name} twin to {built.folder}."]
    for handler in built.handlers:
        if handler.written_by == "model":
            verdict = {True: "its scenarios pass", None: "no scenario checks it"}[handler.passed]
            lines.append(
                f"  {handler.operation}: written by the model in {handler.attempts} "
                f"attempt(s), {verdict}."
            )
        elif handler.attempts:
            lines.append(
                f"  {handler.operation}: the model did not get it right in {handler.attempts} "
                f"attempt(s); it answers 501 until `{handler.function}` in handlers.py is written."
            )
        else:
            lines.append(
                f"  {handler.operation}: left open; it answers 501 until `{handler.function}` "
                "in handlers.py is written."
            )
    check = built.check
    if check.error is not None:
        lines.append(f"The conformance scenarios could not run: {check.error.splitlines()[0]}")
    else:
        passed = sum(1 for r in check.results if r["passed"])
        lines.append(f"Conformance: {passed} of {len(check.results)} scenarios pass.")
    lines.append(f"Report: {built.folder / REPORT}")
    found = all_twins().get(built.name)
    if found is not None and found.folder.resolve() == built.folder:
        lines.append(f"Start it with `localfactory twin up {built.name} --local`.")
    else:
        lines.append(
            "This folder is not one localfactory looks for twins in; move it under twins/ "
            "(or leave out --out) to start it with `localfactory twin up`."
        )
    return lines
