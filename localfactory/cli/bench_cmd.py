"""``localfactory bench``: measured figures next to their targets."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from localfactory.config import DEFAULT_JUDGE

app = typer.Typer(help="Measure localfactory's speed against its targets.", no_args_is_help=True)


@app.command("llm")
def llm(
    model: Annotated[str, typer.Option(help="An installed model to measure.")] = DEFAULT_JUDGE,
    repetitions: Annotated[
        int, typer.Option(min=1, help="Runs of each side; medians are reported.")
    ] = 3,
    gen_tokens: Annotated[int, typer.Option(min=8, help="Tokens generated per speed run.")] = 64,
) -> None:
    """Our overhead over raw llama-cpp-python, and what per-role KV states save (PASS/MISS per target)."""
    from localfactory.bench import llm_bench
    from localfactory.cli.common import settings

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    report = llm_bench.run(
        model, settings(), repetitions=repetitions, gen_tokens=gen_tokens, say=say
    )
    for line in report.lines():
        print(line)
