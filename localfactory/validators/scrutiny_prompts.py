"""What the scrutiny validator's judge is told: a code review against the spec.

The code comes first in every first asking, so a run of questions on the same code shares
its prompt's opening (see ``Judge.judge_many``). Questions are short and concrete: small
models judge one requirement at a time far better than a whole list.
"""

from __future__ import annotations

SYSTEM = (
    "Judge of code in a software factory. You review Python code that another model wrote, "
    "against one requirement of its specification. Judge only from the code shown: code "
    "that is not there does not exist."
)

CRITERION_ASK = "Requirement: {criterion}\nDoes the code meet this requirement?"

CRITERION_REPHRASED = (
    "Check the code against this requirement, including any edge case it names: {criterion}\n"
    "Is the requirement fully satisfied by the code as written?"
)

REVIEW_CRITERION = (
    "The code has no dead code and no unsafe patterns (eval, exec, shell commands, network "
    "access the specification does not ask for), and every test checks a real result of the code."
)

REVIEW_ASK = "Requirement: {criterion}\nDoes the code with its tests meet this requirement?"

REVIEW_REPHRASED = (
    "Look for dead code, eval or exec, shell commands, unrequested network access, and tests "
    "that check nothing. The requirement is: {criterion}\nIs it met?"
)

FEEDBACK_HEAD = "A code review of the current version found problems to fix:"
ADVICE_HEAD = "Worth fixing too:"
