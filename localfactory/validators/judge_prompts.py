"""Words every judge hears, whichever validator asks: how to answer, how evidence is shown.

Each validator has its own prompts beside it (``scrutiny_prompts``, ``user_testing_prompts``);
this module holds only the answer format they share. A judge's system prompt must not start
like a generating role's prompt ("You are a careful senior Python engineer..."), so that a
judge on the same model reuses none of the writer's cached context: they start with "Judge".
"""

from __future__ import annotations

from collections.abc import Sequence

ANSWER_FORMAT = (
    "Answer in JSON with: reasons (one to three short sentences about the evidence), "
    "verdict (pass if the requirement is met, fail if it is not), and score (from 0 to 1: "
    "how fully the requirement is met)."
)

EVIDENCE_CHARS = 6000
"""Longest evidence text shown to a judge; longer text is cut and the cut is said."""


def clip(text: str, limit: int = EVIDENCE_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters not shown]"


def user_message(evidence: Sequence[tuple[str, str]], ask: str) -> str:
    """The evidence, each under its label, then the question."""
    blocks = [f"### {label}\n{clip(text).rstrip()}" for label, text in evidence]
    return "\n\n".join([*blocks, f"### Question\n{ask}"])
