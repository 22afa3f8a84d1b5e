"""`twin new` with a model: the handler loop with a scripted model, and once with the real 0.5B model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localfactory.config import Settings
from localfactory.llm.router import Router
from localfactory.llm.scripted import ScriptedBackend
from localfactory.twins.agent_handlers import (
    HandlerAgent,
    check_source,
    extract_function,
    replace_function,
)
from localfactory.twins.scaffold import REPORT, new_twin
from localfactory.twins.scaffold_conformance import CheckRun
from localfactory.twins.scaffold_openapi import load_document
from localfactory.twins.scaffold_plan import ScaffoldPlan, plan_twin
from localfactory.twins.scaffold_writer import write_package
from tests.conftest import RealModel

DOCUMENT = Path(__file__).parent / "data" / "bookshelf.openapi.json"

RIGHT = """Here is the handler:

```python
from digital_twin import BOOKS, Call

def archive_book(call: Call) -> Any:
    book = BOOKS.find(call)
    book["archived"] = True
    BOOKS.save(call, book)
    return book
```
It archives the book."""
FORGETS = """```python
def archive_book(call: Call) -> Any:
    return BOOKS.find(call)
```"""
IMPORTS_OS = """```python
import os

def archive_book(call: Call) -> Any:
    os.remove("/tmp/x")
    return {}
```"""
WITH_IMPORTS = """```python
import uuid
from typing import Any, Dict
from digital_twin import BOOKS, Call

def archive_book(call: Call) -> Any:
    book = BOOKS.find(call)
    book["archived"] = True
    book["n"] = uuid.uuid4().hex
    return book
```"""
NO_CODE = "Sure! The handler should set archived to true and return the book."


def scaffolded(tmp_path: Path) -> tuple[ScaffoldPlan, Path]:
    plan = plan_twin("bookshelf", load_document(DOCUMENT))
    folder = tmp_path / "bookshelf"
    write_package(plan, folder, DOCUMENT.name)
    return plan, folder


def scripted_router(settings: Settings, answers: list[str]) -> tuple[Router, list[ScriptedBackend]]:
    made: list[ScriptedBackend] = []

    def backend(kind: str, model: str, settings: Settings) -> ScriptedBackend:
        made.append(ScriptedBackend(model, settings, script=answers))
        return made[-1]

    return Router(settings, make_backend=backend), made


class Checks:
    """A stand-in for the sandboxed scenario run: answers in order, records what it was asked."""

    def __init__(self, *runs: CheckRun) -> None:
        self.runs = list(runs)
        self.asked: list[list[str] | None] = []

    def __call__(self, operations: list[str] | None) -> CheckRun:
        self.asked.append(operations)
        return self.runs.pop(0)


PASSED = CheckRun(
    [
        {
            "name": "archiveBook answers 200",
            "operation": "archiveBook",
            "passed": True,
            "problems": [],
        }
    ]
)
NOT_ARCHIVED = CheckRun(
    [
        {
            "name": "archiveBook answers 200",
            "operation": "archiveBook",
            "passed": False,
            "problems": [
                "step 2 (POST /v1/books/{bookId}/archive): body.archived should be true, got false"
            ],
        }
    ]
)


def test_extract_takes_the_function_out_of_a_chatty_answer_and_keeps_its_name() -> None:
    code, _ = extract_function(RIGHT, "archive_book")
    assert code is not None and code.startswith(
        "from digital_twin import BOOKS, Call\ndef archive_book"
    )
    renamed, _ = extract_function(FORGETS.replace("archive_book", "archive"), "archive_book")
    assert renamed is not None and "def archive_book(call: Call) -> Any:" in renamed
    missing, problem = extract_function(NO_CODE, "archive_book")
    assert missing is None and "no Python code block" in problem


def test_replacing_the_stub_keeps_its_marker_and_docstring_and_drops_made_up_imports(
    tmp_path: Path,
) -> None:
    _, folder = scaffolded(tmp_path)
    original = (folder / "handlers.py").read_text()
    code, _ = extract_function(WITH_IMPORTS, "archive_book")
    assert code is not None
    text = replace_function(original, "archive_book", code)
    assert "digital_twin" not in text and "Dict" not in text and "\nimport uuid\n" in text
    assert "# localfactory:handler archiveBook\ndef archive_book(call: Call) -> Any:\n" in text
    assert '    """POST /books/{bookId}/archive: Archive a book.' in text
    assert (
        'book["archived"] = True' in text
        and "not_implemented(call)\n" not in text.split("def archive_book")[1]
    )
    assert check_source(text, "archive_book") == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("    import os\n    return os.getcwd()", "may not import 'os'"),
        ("    return open('/etc/passwd').read()", "may not use open"),
        ("    return ().__class__.__subclasses__()", "may not reach into __class__"),
        ("    raise not_implemented(call)", "still only raises not_implemented"),
    ],
)
def test_code_a_handler_may_not_hold_is_refused(tmp_path: Path, body: str, problem: str) -> None:
    _, folder = scaffolded(tmp_path)
    code = f"def archive_book(call: Call) -> Any:\n{body}\n"
    text = replace_function((folder / "handlers.py").read_text(), "archive_book", code)
    problems = check_source(text, "archive_book")
    assert any(problem in p for p in problems), problems
    two = replace_function(text, "archive_book", "def archive_book(call, extra):\n    return {}\n")
    assert any("exactly one argument" in p for p in check_source(two, "archive_book"))


def test_each_failure_goes_back_to_the_model_until_a_handler_passes(
    tmp_path: Path, settings: Settings
) -> None:
    plan, folder = scaffolded(tmp_path)
    router, made = scripted_router(settings, [NO_CODE, IMPORTS_OS, FORGETS, RIGHT])
    checks = Checks(NOT_ARCHIVED, PASSED)
    [outcome] = HandlerAgent(router, model="scripted", max_repairs=3)(plan, folder, checks)
    assert (outcome.written_by, outcome.passed, outcome.attempts) == ("model", True, 4)
    asked = [r.messages[-1].content for r in made[0].requests]
    assert "POST /books/{bookId}/archive" in asked[0] and "BOOKS.find(call)" in asked[0]
    assert "no Python code block" in asked[1]
    assert "may not import 'os'" in asked[2]
    assert "body.archived should be true, got false" in asked[3]
    # Only code that passed the static checks reached the scenarios, and only this operation's.
    assert checks.asked == [["archiveBook"], ["archiveBook"]]
    handlers = (folder / "handlers.py").read_text()
    assert "# localfactory:handler archiveBook (written by scripted)" in handlers
    assert 'book["archived"] = True' in handlers


def test_repairs_are_bounded_and_a_handler_that_never_passes_goes_back_to_its_stub(
    tmp_path: Path, settings: Settings
) -> None:
    plan, folder = scaffolded(tmp_path)
    original = (folder / "handlers.py").read_text()
    router, made = scripted_router(settings, [FORGETS] * 5)
    checks = Checks(NOT_ARCHIVED, NOT_ARCHIVED, NOT_ARCHIVED)
    [outcome] = HandlerAgent(router, model="scripted", max_repairs=2)(plan, folder, checks)
    assert len(made[0].requests) == 3
    assert (outcome.written_by, outcome.passed, outcome.attempts) == ("stub", False, 3)
    assert "body.archived should be true" in outcome.problems[0]
    assert (folder / "handlers.py").read_text() == original


@pytest.mark.integration
def test_a_scripted_model_s_handler_is_checked_by_the_scenarios_in_the_sandbox(
    tmp_path: Path, settings: Settings
) -> None:
    router, made = scripted_router(settings, [FORGETS, RIGHT])
    agent = HandlerAgent(router, model="scripted", max_repairs=3)
    built = new_twin(
        "bookshelf", DOCUMENT, tmp_path / "bookshelf", write_handlers=agent, model="scripted"
    )
    [outcome] = built.handlers
    assert (outcome.written_by, outcome.passed, outcome.attempts) == ("model", True, 2)
    repair = made[0].requests[1].messages[-1].content
    assert "body.archived should be true, got false" in repair
    report = json.loads((built.folder / REPORT).read_text())
    assert report["scenarios"]["passed"] == report["scenarios"]["total"] == 13
    assert report["handlers"][0]["written_by"] == "model" and report["model"] == "scripted"


@pytest.mark.integration
def test_the_real_small_model_writes_the_archive_handler(
    tmp_path: Path, real_model: RealModel
) -> None:
    """Qwen2.5-Coder-0.5B, greedy: seen writing this handler right at the first attempt here.

    What is asserted is what the loop guarantees: a handler is kept only when its scenarios
    pass, within 1 + 3 model answers.
    """
    agent = HandlerAgent(Router(real_model.settings), model=real_model.name, max_repairs=3)
    built = new_twin(
        "bookshelf", DOCUMENT, tmp_path / "bookshelf", write_handlers=agent, model=real_model.name
    )
    [outcome] = built.handlers
    assert outcome.attempts <= 4
    assert (outcome.written_by, outcome.passed) == ("model", True), outcome.problems
    assert all(r["passed"] for r in built.check.results), built.check.problems()
    assert "(written by qwen2.5-coder-0.5b)" in (built.folder / "handlers.py").read_text()
