"""The acceptance criteria's own examples, written as tests by the factory, not a model."""

from __future__ import annotations

from pathlib import Path

from localfactory.factory.engine import Factory
from localfactory.factory.examples import examples_source, spec_examples
from localfactory.factory.layout import layout_for
from localfactory.spec import parse_spec
from localfactory.store import RunStore
from tests.factory_helpers import (
    PLAN,
    RIGHT,
    TESTS,
    WRONG,
    ScriptedModels,
    make_project,
    settings_for,
)

SPEC = """---
name: words
kind: library
interface:
  module: words
  functions:
    - 'count(text: str) -> int'
    - 'first(text: str) -> str'
---
# words

## Acceptance criteria
- `count("a b")` returns `2`, and `count("")` is `0`.
- `first("x y")[0]` is `"x"`; `first(text)` gives the first word of `text`.
- `first("")` raises `ValueError`, and `first(" ")` raises `EmptyText`.
- `count(text)` returns a number, and `print("x")` returns `None`.
"""


def test_exact_facts_become_tests_and_anything_vague_does_not() -> None:
    spec = parse_spec(SPEC)
    found = [(e.criterion, e.call, e.expected, e.raises) for e in spec_examples(spec)]
    assert found == [
        (1, 'count("a b")', "2", None),
        (1, 'count("")', "0", None),
        (2, 'first("x y")[0]', '"x"', None),
        (3, 'first("")', None, "ValueError"),
        (3, 'first(" ")', None, "EmptyText"),
    ]  # `first(text)` has a variable; `print` is not the interface's
    source = examples_source(spec, layout_for(spec), spec_examples(spec))
    assert "from words import count, first, EmptyText" in source
    assert '    assert first("x y")[0] == "x"' in source
    assert '    with pytest.raises(ValueError):\n        first("")' in source
    compile(source, "test_words_examples.py", "exec")


def test_services_and_commands_have_no_examples_read_from_their_criteria() -> None:
    cli = SPEC.replace("kind: library", "kind: cli").replace(
        "interface:\n  module: words\n  functions:\n    - 'count(text: str) -> int'\n"
        "    - 'first(text: str) -> str'\n",
        "interface:\n  command: words\n  usage: words FILE\n",
    )
    assert spec_examples(parse_spec(cli)) == []


def test_code_its_own_tests_agree_with_still_fails_on_the_spec_s_examples(tmp_path: Path) -> None:
    # The test writer got the spec wrong the same way the coder did (a - b): its tests pass,
    # the spec's examples do not, and the repair is shown the example that fails.
    agreeing = TESTS.replace("add(2, 3) == 5", "add(2, 3) == -1").replace(
        "add(-1, 1) == 0", "add(-1, 1) == -2"
    )
    models = ScriptedModels({"planner": [PLAN], "test_writer": [agreeing], "coder": [WRONG]})
    spec = make_project(tmp_path, iterations=1)
    settings = settings_for(tmp_path)
    store = RunStore(settings.store_path())
    factory = Factory(settings, store, chat=models.chat, emit=lambda _: None)
    run = factory.run(factory.start(spec).id)
    assert run.status.value == "failed"  # one round only: the wrong code is never delivered
    first_check = next(t for t in store.transitions(run.id) if t.from_state == "check")
    assert first_check.reason.startswith("2/4 tests pass")
    examples = (tmp_path / "build" / "adder" / "tests" / "test_adder_examples.py").read_text()
    assert "assert add(2, 3) == 5" in examples and "no model wrote them" in examples
    # the examples never go to the test writer to be questioned
    assert all("test_spec_example" not in p for role, p in models.prompts if role == "test_writer")


def test_a_test_expecting_an_error_the_spec_never_states_never_reaches_the_coder(
    tmp_path: Path,
) -> None:
    # The adder spec says nothing of errors; the test writer invents one (as the 1.5B did for
    # fizzbuzz-list's negative n, which the spec says returns []).
    invented = TESTS.replace(
        "def test_negative():",
        "def test_rejects_floats():\n    with pytest.raises(TypeError):\n        add(1.5, 2)\n\n\n"
        "def test_negative():",
    ).replace("from adder import add", "import pytest\n\nfrom adder import add")
    models = ScriptedModels({"planner": [PLAN], "test_writer": [invented], "coder": [RIGHT]})
    spec = make_project(tmp_path)
    settings = settings_for(tmp_path)
    store = RunStore(settings.store_path())
    lines: list[str] = []
    factory = Factory(settings, store, chat=models.chat, emit=lines.append)
    run = factory.run(factory.start(spec).id)
    assert run.status.value == "succeeded"  # right code, no round spent on the invented test
    coder = [p for role, p in models.prompts if role == "coder"]
    assert (
        len(coder) == 1
        and "test_rejects_floats" not in coder[0]
        and "def test_negative" in coder[0]
    )
    assert any("dropped test_rejects_floats: the spec never says" in line for line in lines)


PURSE = """---
name: purse
kind: library
interface:
  module: purse
  classes:
    - name: Purse
      methods:
        - 'take(self, amount: int) -> int'
    - name: Empty
      bases: [ValueError]
budget: {iterations: 3, tokens: 100000, wall_time: 10m}
---
# purse
A purse of 10 coins; taking more than it holds raises `Empty`, a subclass of ValueError.

## Acceptance criteria
- `Purse().take(3)` returns `7`, the coins left.
- Taking more than the purse holds raises `Empty`.
"""
PURSE_TESTS = (
    "tests/test_purse.py\n```python\nimport pytest\n\nfrom purse import Empty, Purse\n\n\n"
    "def test_take():\n    assert Purse().take(3) == 7\n\n\n"
    "def test_too_much():\n    with pytest.raises(Empty):\n        Purse().take(11)\n```\n"
)
# The whole module, but the stub's exception class left out and still raised (ledger, 1.5B).
PURSE_CODE = (
    "purse.py\n```python\nclass Purse:\n    def __init__(self) -> None:\n        self.coins = 10\n\n"
    "    def take(self, amount: int) -> int:\n        if amount > self.coins:\n"
    "            raise Empty(amount)\n        self.coins -= amount\n        return self.coins\n```\n"
)


def test_a_module_that_leaves_out_a_class_of_the_interface_keeps_the_files_one(
    tmp_path: Path,
) -> None:
    spec = tmp_path / "purse.md"
    (tmp_path / "localfactory.toml").write_text("")
    spec.write_text(PURSE)
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [PURSE_TESTS], "coder": [PURSE_CODE]}
    )
    settings = settings_for(tmp_path)
    store = RunStore(settings.store_path())
    lines: list[str] = []
    factory = Factory(settings, store, chat=models.chat, emit=lines.append)
    run = factory.run(factory.start(spec).id)
    assert run.status.value == "succeeded" and models.counts["coder"] == 1
    code = (tmp_path / "build" / "purse" / "purse.py").read_text()
    assert code.index("class Empty(ValueError)") < code.index("class Purse")
    assert any("kept Empty as purse.py had it" in line for line in lines)
