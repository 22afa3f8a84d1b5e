"""``localfactory bench llm``: what our backend costs, and what its role states save.

Both figures are measured side by side in one process, on one loaded model, with the same
prompts, alternating which side goes first, over a few repetitions; medians are reported.

(a) Generation speed of raw llama-cpp-python (``create_chat_completion``, streamed) against
    the same calls through :class:`EmbeddedBackend`: our overhead, target at most 5%.
(b) Time to first token of the coder coming back after the judge ran on the same model,
    with the per-role KV states and without them: target at least 10x faster with them.

The ratios are medians over back-to-back pairs, so that a machine whose load changes during
the run (it is shared) skews both sides of a pair alike. Beside (a), the time one call spends
in our own code (outside llama-cpp-python's stream) is reported: load barely moves it.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localfactory.bench.llm_prompts import CODER_SYSTEM, CODER_TASK, GENERATION_PROMPT, JUDGE_SYSTEM
from localfactory.llm.call import Message

if TYPE_CHECKING:
    from localfactory.config import Settings
    from localfactory.llm.embedded import EmbeddedBackend
    from localfactory.llm.engine import Engine

OVERHEAD_TARGET = 0.05
SPEEDUP_TARGET = 10.0


@dataclass
class Report:
    model: str
    threads: int
    n_ctx: int
    repetitions: int
    """Runs of each side in (b); (a) is cheaper and runs four more of each."""
    gen_tokens: int
    raw_tps: list[float] = field(default_factory=list)
    ours_tps: list[float] = field(default_factory=list)
    ttft_with: list[float] = field(default_factory=list)
    ttft_without: list[float] = field(default_factory=list)
    cached_with: int = 0
    cached_without: int = 0
    return_prompt_tokens: int = 0
    state_mb: float = 0.0
    state_save_s: float = 0.0
    state_restore_s: float = 0.0
    save_state_mb: float = 0.0
    own_s: float = 0.0
    """Time one call spends in our code, outside llama-cpp-python's stream."""
    own_share: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)
    """The 1-minute load average before and after: figures from a busy machine are noisy."""

    @property
    def overhead(self) -> float:
        """1 - median of ours/raw over back-to-back pairs (pairs share the machine's load of the moment)."""
        return 1.0 - statistics.median(
            o / r for o, r in zip(self.ours_tps, self.raw_tps, strict=True)
        )

    @property
    def speedup(self) -> float:
        """Median of without/with over back-to-back pairs."""
        pairs = zip(self.ttft_without, self.ttft_with, strict=True)
        return statistics.median(without / with_ for without, with_ in pairs)

    def lines(self) -> list[str]:
        def verdict(ok: bool) -> str:
            return "PASS" if ok else "MISS"

        raw, ours = statistics.median(self.raw_tps), statistics.median(self.ours_tps)
        with_, without = statistics.median(self.ttft_with), statistics.median(self.ttft_without)
        return [
            f"localfactory bench llm: {self.model}, {self.threads} threads, n_ctx {self.n_ctx}; "
            f"medians, sides alternating; machine load average {self.load[0]:.1f} at the start, "
            f"{self.load[1]:.1f} at the end on {os.cpu_count()} cores",
            f"(a) generation, {self.gen_tokens} tokens, {_runs(len(self.raw_tps))} each: "
            f"raw llama-cpp-python {raw:.1f} tokens/s, "
            f"through localfactory {ours:.1f} tokens/s",
            f"    overhead {self.overhead * 100:+.1f}%, median of pairs (target at most {OVERHEAD_TARGET * 100:.0f}%): "
            f"{verdict(self.overhead <= OVERHEAD_TARGET)}",
            f"    time in localfactory's own code around llama-cpp-python: {self.own_s * 1000:.1f} ms "
            f"of the call ({self.own_share * 100:.2f}%)",
            f"(b) time to first token, coder returning after the judge ({self.return_prompt_tokens} "
            f"prompt tokens, {_runs(len(self.ttft_with))} each): with role states {with_:.2f} s ({self.cached_with} cached), "
            f"without {without:.2f} s ({self.cached_without} cached)",
            f"    {self.speedup:.1f}x faster, median of pairs (target at least {SPEEDUP_TARGET:.0f}x): "
            f"{verdict(self.speedup >= SPEEDUP_TARGET)}",
            f"    one saved role state: {self.state_mb:.1f} MB, saved in {self.state_save_s * 1000:.0f} ms, "
            f"restored in {self.state_restore_s * 1000:.0f} ms "
            f"(Llama.save_state() of the same state: {self.save_state_mb:.0f} MB)",
        ]


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _generation_rate(chunks: Iterable[object], engine: Engine, prompt_tokens: int) -> float:
    """Tokens per second after the first chunk, counted from the tokens the model decoded."""
    first = last = None
    for _ in chunks:
        last = time.perf_counter()
        first = first or last
    sampled = engine.llama.n_tokens - prompt_tokens + 1
    if first is None or last is None or last <= first:
        return 0.0
    return (sampled - 1) / (last - first)


def measure_overhead(backend: EmbeddedBackend, report: Report, say: Callable[[str], None]) -> None:
    engine = backend.engine()
    messages = [Message(role="user", content=GENERATION_PROMPT)]
    n_prompt = len(engine.render(messages).tokens)
    options = {"max_tokens": report.gen_tokens}

    def raw() -> float:
        chunks = engine.llama.create_chat_completion(
            messages=[m.model_dump() for m in messages],  # type: ignore[misc]
            max_tokens=report.gen_tokens,
            temperature=0.0,
            seed=0,
            stream=True,
        )
        return _generation_rate(chunks, engine, n_prompt)

    def ours() -> float:
        return _generation_rate(backend.chat(messages, options=options), engine, n_prompt)

    ours()  # warm-up: loads the model and evaluates the prompt once
    for rep in range(report.repetitions + 4):
        order = [(raw, report.raw_tps), (ours, report.ours_tps)]
        for run, into in order if rep % 2 == 0 else reversed(order):
            into.append(run())
        say(
            f"  (a) repetition {rep + 1}: raw {report.raw_tps[-1]:.1f}, ours {report.ours_tps[-1]:.1f} tokens/s"
        )


def measure_own_time(backend: EmbeddedBackend, report: Report) -> None:
    """One call through our backend, timing what happens inside llama-cpp-python's stream apart.

    The rest (rendering, tokenizing, role states, our streaming layers) is our code's own
    time: a figure the machine's load barely moves, unlike the side-by-side speeds.
    """
    llama = backend.engine().llama
    original = llama.create_completion
    inside = 0.0

    def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
        nonlocal inside
        stream = iter(original(*args, **kwargs))
        while True:
            start = time.perf_counter()
            try:
                chunk = next(stream)
            except StopIteration:
                inside += time.perf_counter() - start
                return
            inside += time.perf_counter() - start
            yield chunk

    llama.create_completion = timed  # type: ignore[method-assign]
    try:
        start = time.perf_counter()
        backend.chat(GENERATION_PROMPT, options={"max_tokens": report.gen_tokens}).text()
        total = time.perf_counter() - start
    finally:
        del llama.create_completion  # the class's method again
    report.own_s = total - inside
    report.own_share = report.own_s / total


def _return_turn(backend: EmbeddedBackend, report: Report, *, managed: bool) -> float:
    """Coder turn, judge turn, then the coder's follow-up; returns the follow-up's time to first token."""
    coder = [
        Message(role="system", content=CODER_SYSTEM),
        Message(role="user", content=CODER_TASK),
    ]
    first = backend.chat(coder, role="coder", options={"max_tokens": 16}).result()
    judge = [
        Message(role="system", content=JUDGE_SYSTEM),
        Message(role="user", content="Scenario: add_item('ABC1', 2) to {}. Output: {'ABC1': 2}"),
    ]
    backend.chat(judge, role="judge", options={"max_tokens": 4}).result()
    follow_up = [
        *coder,
        Message(role="assistant", content=first.text),
        Message(role="user", content="Now make merge() keep the order of the SKUs."),
    ]
    result = backend.chat(follow_up, role="coder", options={"max_tokens": 2}).result()
    report.return_prompt_tokens = result.prompt_tokens
    if managed:
        report.cached_with = result.cached_tokens or 0
    else:
        report.cached_without = result.cached_tokens or 0
    return result.time_to_first_token_s


def measure_state_cost(engine: Engine, report: Report) -> None:
    from localfactory.llm.role_states import restore, snapshot

    start = time.perf_counter()
    state = snapshot(engine.llama)
    report.state_save_s = time.perf_counter() - start
    if state is None:
        return
    report.state_mb = state.nbytes / 2**20
    full = engine.llama.save_state()
    report.save_state_mb = (
        full.llama_state_size + full.scores.nbytes + full.input_ids.nbytes
    ) / 2**20
    del full
    start = time.perf_counter()
    restore(engine.llama, state)
    report.state_restore_s = time.perf_counter() - start


def run(
    model: str, settings: Settings, *, repetitions: int, gen_tokens: int, say: Callable[[str], None]
) -> Report:
    from localfactory.llm.embedded import EmbeddedBackend

    managed = EmbeddedBackend(model, settings)
    unmanaged = EmbeddedBackend(model, settings, manage_prefix_cache=False)
    load_before = os.getloadavg()[0]
    say(f"loading {model} ...")
    engine = managed.engine()
    report = Report(model, settings.threads(), engine.n_ctx, repetitions, gen_tokens)
    say("(a) generation speed, raw llama-cpp-python against our backend ...")
    measure_overhead(managed, report, say)
    measure_own_time(managed, report)
    say("(b) time to first token of a returning role, with and without role states ...")
    for rep in range(repetitions):
        order = [(managed, True, report.ttft_with), (unmanaged, False, report.ttft_without)]
        for backend, is_managed, into in order if rep % 2 == 0 else reversed(order):
            into.append(_return_turn(backend, report, managed=is_managed))
        say(
            f"  (b) repetition {rep + 1}: with {report.ttft_with[-1]:.2f} s, without {report.ttft_without[-1]:.2f} s"
        )
    measure_state_cost(engine, report)
    report.load = (load_before, os.getloadavg()[0])
    return report
