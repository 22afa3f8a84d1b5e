"""``localfactory bench``: measured figures next to their targets."""

from __future__ import annotations

import sys
from pathlib import Path
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


@app.command("factory")
def factory(
    suite: Annotated[Path, typer.Argument(help="A folder of specs.")] = Path("examples/suite"),
    model: Annotated[
        str | None, typer.Option(help="The model for every role (default: the coder's).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Run only the first N specs.")] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Run only these specs (repeat, or comma-separated).")
    ] = None,
    scenarios: Annotated[
        Path | None, typer.Option(help="Holdout scenarios folder (default: the repository's).")
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Where the outputs and run stores go (default: a new temp folder)."),
    ] = None,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Result file (default: WORKDIR/bench-factory.json)."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Go on with an interrupted bench in --workdir: specs with results are kept, and the factory run it was on goes on where it stopped.",
        ),
    ] = False,
) -> None:
    """The factory against single-shot generation on a suite of specs (PASS/MISS against the target)."""
    from localfactory.bench import factory as bench_factory
    from localfactory.cli.common import settings

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    bench_factory.main(
        settings(), suite, model=model, limit=limit, only=only or [], scenarios=scenarios,
        workdir=workdir, json_path=json_path, resume=resume, say=say,
    )  # fmt: skip


@app.command("judge")
def judge(
    model: Annotated[
        list[str] | None,
        typer.Option(
            help="A judge model to score (repeat; default: the judge role's, and the escalation role's)."
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only the first N calibration items of each kind.")
    ] = None,
) -> None:
    """Judge models side by side on the labelled calibration set: agreement and self-consistency."""
    from localfactory.cli.common import settings
    from localfactory.validators import bench as judge_bench

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    models = model or judge_bench.default_models(settings())
    for line in judge_bench.run(settings(), models, limit=limit, say=say).lines():
        print(line)


@app.command("twin")
def twin(
    name: Annotated[str, typer.Argument(help="The twin to load (slack).")],
    seconds: Annotated[float, typer.Option(min=1, help="Measured seconds per side.")] = 10.0,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Connections the load generator keeps open.")
    ] = 16,
    prism: Annotated[
        bool, typer.Option(help="Also load Prism mocking the twin's own /openapi.json.")
    ] = True,
) -> None:
    """One twin process on loopback beside Prism: req/s, p50/p99 latency (PASS/MISS per target)."""
    from localfactory.twins import bench as twin_bench

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    report = twin_bench.run(name, seconds=seconds, concurrency=concurrency, prism=prism, say=say)
    for line in report.lines():
        print(line)
