"""The acceptance criteria's own examples, as tests that no model wrote.

A criterion such as "`fizzbuzz(5)` returns `["1", "2", "Fizz", "4", "Buzz"]`" states a
fact about the software in the spec author's own words. Small test writers get such facts
wrong surprisingly often (an invented error, a miscounted list), and a wrong test misleads
the coder. So the factory writes these examples as tests itself, verbatim, into a file of
their own: they run with every check, the test writer never rewrites them, and they are
never disputed, because they are the spec.

Only what can be read without guessing becomes a test: a call of an interface function
(possibly indexed) on literal arguments, then ``returns``/``is``/``gives``/``==``, then a
literal; or the call, then ``raises``, then an exception name.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass
from itertools import pairwise

from localfactory.factory.layout import Layout, function_names
from localfactory.spec import LibraryInterface, Spec

PREFIX = "test_spec_example_"
"""Every example test's name starts so; the loop tells them from the test writer's by it."""

_SPAN = re.compile(r"`([^`]+)`")
_EQUALS = re.compile(r"^\s*(returns|return|is|gives|equals|==|evaluates to)\s*$", re.IGNORECASE)
_RAISES = re.compile(r"^\s*raises\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Example:
    criterion: int
    """The criterion's number (from 1), as the spec lists them."""
    call: str
    expected: str | None
    """The expected value's literal; None for an error."""
    raises: str | None = None


def _call_of_interface(text: str, names: set[str]) -> bool:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return False
    node = tree.body
    while isinstance(node, ast.Subscript):
        node = node.value
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return False
    if node.func.id not in names:
        return False
    free = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return free <= names  # literal arguments only: no variable the test would not have


def _literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def spec_examples(spec: Spec) -> list[Example]:
    """The examples in the acceptance criteria that read as exact facts (libraries only)."""
    if not isinstance(spec.interface, LibraryInterface):
        return []
    names = set(function_names(spec))
    found: list[Example] = []
    for number, criterion in enumerate(spec.acceptance, 1):
        spans = list(_SPAN.finditer(criterion))
        for left, right in pairwise(spans):
            between = criterion[left.end() : right.start()]
            call, value = left.group(1).strip(), right.group(1).strip()
            if not _call_of_interface(call, names):
                continue
            if _EQUALS.match(between) and _literal(value):
                found.append(Example(number, call, value))
            elif _RAISES.match(between) and value.isidentifier():
                found.append(Example(number, call, None, raises=value))
    return found


def examples_source(spec: Spec, layout: Layout, examples: list[Example]) -> str:
    """The test file of ``examples``."""
    names = set(function_names(spec))
    used = sorted(
        {
            n.id
            for e in examples
            for n in ast.walk(ast.parse(e.call, mode="eval"))
            if isinstance(n, ast.Name) and n.id in names
        }
    )
    errors = sorted({e.raises for e in examples if e.raises and not hasattr(builtins, e.raises)})
    lines = [
        f'"""{spec.name}: the acceptance criteria\'s own examples, written as tests by '
        'localfactory (no model wrote them)."""',
        "",
        *(["import pytest", ""] if any(e.raises for e in examples) else []),
        f"from {layout.module} import {', '.join([*used, *errors])}",
    ]
    for i, e in enumerate(examples, 1):
        lines += [
            "",
            "",
            f"def {PREFIX}{i}() -> None:",
            f"    # acceptance criterion {e.criterion}",
        ]
        if e.raises:
            lines += [f"    with pytest.raises({e.raises}):", f"        {e.call}"]
        else:
            lines.append(f"    assert {e.call} == {e.expected}")
    return "\n".join(lines) + "\n"


def is_example(test_name: str) -> bool:
    """Whether a test id (``tests.test_x_examples.test_spec_example_2``) is a spec example."""
    return PREFIX in test_name


def writer_tests(failing: list[str]) -> list[str]:
    """The failing tests the test writer may be asked to question: not the spec's examples."""
    return [name for name in failing if not is_example(name)]
