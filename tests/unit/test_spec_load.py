"""Reading specs: good ones parse, every kind of mistake gives one message with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from localfactory.errors import UserError
from localfactory.spec import SpecError, load_spec, parse_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

GOOD = """\
---
name: text-tools
kind: library
interface:
  module: text_tools
  functions:
    - 'slugify(text: str) -> str'
    - 'word_count(text: str) -> int'
budget:
  iterations: 4
  tokens: 50000
  wall_time: 1h30m
---
# Text tools

Two helpers.

## Acceptance criteria
- slugify("A b") returns "a-b".
- word_count counts whitespace-separated words,
  so word_count("a  b") returns 2.

## Notes
Keep it small.
"""


def _error(text: str, tmp_path: Path, name: str = "spec.md") -> SpecError:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return info.value


def _replace(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


def test_good_spec_parses_front_matter_body_and_criteria() -> None:
    spec = parse_spec(GOOD)
    assert spec.name == "text-tools"
    assert spec.kind == "library"
    assert spec.language == "python"
    assert spec.interface.kind == "library"
    assert spec.interface.functions == ["slugify(text: str) -> str", "word_count(text: str) -> int"]
    assert spec.acceptance == [
        'slugify("A b") returns "a-b".',
        'word_count counts whitespace-separated words, so word_count("a  b") returns 2.',
    ]
    assert spec.budget.wall_time == 5400
    assert spec.budget.iterations == 4
    # The criteria section is cut out of the description; the other sections stay.
    assert "Acceptance criteria" not in spec.description
    assert "Keep it small." in spec.description
    assert spec.risk.level == "low"


def test_criteria_may_be_given_in_front_matter_instead() -> None:
    text = GOOD.split("## Acceptance criteria")[0].replace(
        "budget:", "acceptance:\n  - It works.\n  - It is fast.\nbudget:"
    )
    assert parse_spec(text).acceptance == ["It works.", "It is fast."]


def test_criteria_in_both_places_is_refused_at_the_front_matter_key(tmp_path: Path) -> None:
    err = _error(_replace("budget:", "acceptance: [It works.]\nbudget:"), tmp_path)
    assert err.line == 9
    assert "twice" in err.problem


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.md")), ids=lambda p: p.name)
def test_every_example_spec_is_valid(example: Path) -> None:
    spec = load_spec(example)
    assert spec.name == example.stem
    assert len(spec.acceptance) >= 5


def test_examples_cover_the_three_kinds() -> None:
    kinds = {load_spec(p).kind for p in EXAMPLES.glob("*.md")}
    assert kinds == {"library", "cli", "http-service"}


def test_no_front_matter(tmp_path: Path) -> None:
    err = _error("# Just a heading\n", tmp_path)
    assert err.line == 1
    assert "no front matter" in err.problem
    assert str(err).startswith(f"{tmp_path / 'spec.md'}:1: ")


def test_unterminated_front_matter(tmp_path: Path) -> None:
    err = _error("---\nname: x\nkind: library\n# body\n", tmp_path)
    assert err.line == 1
    assert "never closed" in err.problem


def test_yaml_syntax_error_reports_yamls_own_line(tmp_path: Path) -> None:
    err = _error(_replace("  module: text_tools", "  module: text_tools: extra"), tmp_path)
    assert err.line == 5
    assert "not valid YAML" in err.problem
    assert err.hint is not None and "quotes" in err.hint


def test_unquoted_signature_with_colons_gets_a_quoting_hint(tmp_path: Path) -> None:
    err = _error(
        _replace("    - 'word_count(text: str) -> int'", "    - word_count(text: str) -> int"),
        tmp_path,
    )
    assert err.line == 8
    assert "interface.functions[1]" in err.problem
    assert err.hint is not None and "quotes" in err.hint


def test_bad_yaml_indentation(tmp_path: Path) -> None:
    err = _error(_replace("  tokens: 50000", "    tokens: 50000"), tmp_path)
    assert err.line == 11
    assert "not valid YAML" in err.problem


def test_unknown_key_suggests_the_close_spelling(tmp_path: Path) -> None:
    err = _error(_replace("budget:", "modles:\n  coder: qwen\nbudget:"), tmp_path)
    assert err.line == 9
    assert "Unknown key 'modles'" in err.problem
    assert err.hint == "Did you mean 'models'?"


def test_unknown_nested_key_gets_its_own_line_and_suggestion(tmp_path: Path) -> None:
    err = _error(_replace("  tokens: 50000", "  tokens: 50000\n  wall_tme: 5m"), tmp_path)
    assert err.line == 12
    assert "'wall_tme'" in err.problem and "'budget'" in err.problem
    assert err.hint == "Did you mean 'wall_time'?"


def test_unknown_key_inside_the_interface(tmp_path: Path) -> None:
    err = _error(_replace("  module: text_tools", "  module: text_tools\n  fuctions: []"), tmp_path)
    assert err.line == 6
    assert err.hint == "Did you mean 'functions'?"


def test_wrong_type_points_at_the_key(tmp_path: Path) -> None:
    err = _error(_replace("iterations: 4", "iterations: many"), tmp_path)
    assert err.line == 10
    assert "budget.iterations" in err.problem
    assert "'many'" in err.problem


def test_missing_required_field(tmp_path: Path) -> None:
    err = _error(_replace("kind: library\n", ""), tmp_path)
    assert "required field 'kind' is missing" in err.problem


def test_missing_interface_names_the_field(tmp_path: Path) -> None:
    text = GOOD.replace(
        "interface:\n  module: text_tools\n  functions:\n"
        "    - 'slugify(text: str) -> str'\n    - 'word_count(text: str) -> int'\n",
        "",
    )
    err = _error(text, tmp_path)
    assert "'interface' is missing" in err.problem


def test_empty_criteria_section(tmp_path: Path) -> None:
    text = GOOD.replace(
        '- slugify("A b") returns "a-b".\n- word_count counts whitespace-separated words,\n'
        '  so word_count("a  b") returns 2.\n',
        "",
    )
    err = _error(text, tmp_path)
    assert err.line == 18
    assert "no bullet items" in err.problem


def test_no_criteria_anywhere(tmp_path: Path) -> None:
    err = _error(GOOD.split("## Acceptance criteria")[0], tmp_path)
    assert "no acceptance criteria" in err.problem


def test_empty_front_matter_criteria_list(tmp_path: Path) -> None:
    text = GOOD.split("## Acceptance criteria")[0].replace("budget:", "acceptance: []\nbudget:")
    err = _error(text, tmp_path)
    assert err.line == 9
    assert "'acceptance' is empty" in err.problem


def test_bad_budget_duration(tmp_path: Path) -> None:
    err = _error(_replace("wall_time: 1h30m", "wall_time: ten minutes"), tmp_path)
    assert err.line == 12
    assert "not a duration" in err.problem


def test_unsupported_language(tmp_path: Path) -> None:
    err = _error(_replace("kind: library\n", "kind: library\nlanguage: rust\n"), tmp_path)
    assert err.line == 4
    assert "not supported yet" in err.problem


def test_bad_signature_points_at_its_list_item(tmp_path: Path) -> None:
    err = _error(_replace("'word_count(text: str) -> int'", "'word count(text)'"), tmp_path)
    assert err.line == 8
    assert "not a Python function signature" in err.problem


def test_bad_name_slug(tmp_path: Path) -> None:
    err = _error(_replace("name: text-tools", "name: Text Tools"), tmp_path)
    assert err.line == 2
    assert "not a slug" in err.problem


def test_wrong_kind_lists_the_choices(tmp_path: Path) -> None:
    err = _error(_replace("kind: library", "kind: website"), tmp_path)
    assert err.line == 3
    assert "'library'" in err.problem and "'http-service'" in err.problem


def test_duplicate_key(tmp_path: Path) -> None:
    err = _error(_replace("kind: library\n", "kind: library\nkind: cli\n"), tmp_path)
    assert err.line == 4
    assert "appears twice" in err.problem


def test_file_missing(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path / "nope.md")
    assert "No such spec file" in str(info.value)
    assert isinstance(info.value, UserError)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes(
        GOOD.replace("Two helpers.", "Deux fonctions \xe9l\xe9gantes.").encode("latin-1")
    )
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.line == 16
    assert "not UTF-8" in info.value.problem


def test_risk_with_reasons_and_role_models() -> None:
    text = _replace(
        "budget:",
        "risk:\n  level: high\n  reasons: [touches money]\nmodels:\n  coder: big\nbudget:",
    )
    spec = parse_spec(text)
    assert spec.risk.level == "high" and spec.risk.reasons == ["touches money"]
    assert spec.models.chosen() == {"coder": "big"}


def test_unknown_role_in_models_suggests_the_role(tmp_path: Path) -> None:
    err = _error(_replace("budget:", "models:\n  codr: big\nbudget:"), tmp_path)
    assert err.line == 10
    assert err.hint == "Did you mean 'coder'?"


def test_content_hash_follows_content_not_layout() -> None:
    base = parse_spec(GOOD).content_hash()
    reflowed = GOOD.replace(
        "budget:\n  iterations: 4\n  tokens: 50000\n  wall_time: 1h30m",
        "budget: {iterations: 4, tokens: 50000, wall_time: 90m}",
    )
    assert parse_spec(reflowed).content_hash() == base
    assert parse_spec(GOOD.replace("Two helpers.", "Three helpers.")).content_hash() != base
    assert len(base) == 64


LIBRARY_IFACE = (
    "interface:\n  module: text_tools\n  functions:\n"
    "    - 'slugify(text: str) -> str'\n    - 'word_count(text: str) -> int'\n"
)


def test_a_library_may_export_classes_with_their_methods(tmp_path: Path) -> None:
    text = _replace(
        LIBRARY_IFACE,
        "interface:\n  module: text_tools\n  classes:\n    - name: Counter\n      methods:\n"
        "        - '__init__(self, start: int = 0) -> None'\n        - 'bump(self) -> int'\n"
        "    - name: CounterError\n      bases: [ValueError]\n",
    )
    spec = parse_spec(text)
    from localfactory.factory.layout import function_names, stub_source
    from localfactory.spec.render import render_interface

    assert function_names(spec) == ["Counter", "CounterError"]
    shown = render_interface(spec)
    assert (
        "- `class Counter` with the methods:\n  - `def __init__(self, start: int = 0) -> None`\n"
        in shown
    )
    assert "  - `def bump(self) -> int`\n- `class CounterError(ValueError)`" in shown
    namespace: dict[str, object] = {}
    exec(
        stub_source(spec), namespace
    )  # the stub is a real module: the tests fail on it for the right reason
    with pytest.raises(NotImplementedError, match=r"Counter\.__init__"):
        namespace["Counter"]()  # type: ignore[operator]
    assert issubclass(namespace["CounterError"], ValueError)  # type: ignore[arg-type]


def test_a_library_without_functions_or_classes_is_refused(tmp_path: Path) -> None:
    err = _error(_replace(LIBRARY_IFACE, "interface:\n  module: text_tools\n"), tmp_path)
    assert "needs at least one entry in 'functions' or 'classes'" in err.problem


def test_a_method_without_self_is_refused_at_its_line(tmp_path: Path) -> None:
    text = _replace(
        LIBRARY_IFACE,
        "interface:\n  module: text_tools\n  classes:\n    - name: Counter\n      methods:\n"
        "        - 'bump() -> int'\n",
    )
    err = _error(text, tmp_path)
    assert "must take self (or cls) first" in err.problem and err.line is not None
