"""What the user-testing validator's judge is told: a user's view, never the source."""

from __future__ import annotations

SYSTEM = (
    "Judge of software behaviour in a software factory. You act as a user: you see only what "
    "the user did and what the program showed back, never its source code. Judge only from "
    "what was observed."
)

ASK = "Requirement: {criterion}\nDoes what the program showed meet this requirement?"

REPHRASED = (
    "A user expects this: {criterion}\n"
    "Looking only at what the program showed, is the expectation met?"
)

FEEDBACK_HEAD = "Users tried the software and were not satisfied:"
STRICT_FEEDBACK = (
    "{failed} of {total} checks by users of how the software behaves were not satisfied. "
    "Re-read the specification: messages, output and errors must be as helpful as it asks."
)
