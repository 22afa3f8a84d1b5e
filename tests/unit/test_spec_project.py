"""Rendering specs for prompts, the scenario format, `spec check` and `localfactory init`."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from localfactory.cli import init_cmd, spec_cmd
from localfactory.config import load_settings
from localfactory.errors import UserError
from localfactory.spec import SpecError, load_spec, render_for_prompt, summary
from localfactory.spec.scenario import CallStep, RequestStep, RunStep, load_scenario, load_scenarios
from localfactory.spec.starter import CONFIG_TEMPLATE, create_project

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(spec_cmd.app, name="spec")
    init_cmd.register(app)
    return app


def test_prompt_has_interface_and_numbered_criteria_but_no_front_matter() -> None:
    spec = load_spec(EXAMPLES / "text-tools.md")
    text = render_for_prompt(spec)
    assert "def is_palindrome(text: str) -> bool" in text
    assert "1. `is_palindrome(text)` returns `True`" in text
    assert "budget" not in text and "---" not in text
    assert text.count("# text-tools") == 1
    assert "## Acceptance criteria" not in render_for_prompt(spec, criteria=False)


def test_holdout_scenarios_never_reach_the_prompt(tmp_path: Path) -> None:
    create_project(tmp_path)
    spec = load_spec(tmp_path / "specs" / "text-tools.md")
    text = render_for_prompt(spec)
    for scenario in load_scenarios(tmp_path / "scenarios" / "text-tools"):
        for step in scenario.steps:
            assert isinstance(step, CallStep)
            assert step.call not in text


def test_every_kind_renders_its_interface() -> None:
    cli = render_for_prompt(load_spec(EXAMPLES / "wordfreq.md"))
    assert "Usage: `wordfreq [--top N] [--min-length L] FILE`" in cli
    assert "- 1: the file does not exist or cannot be read" in cli
    service = render_for_prompt(load_spec(EXAMPLES / "notes-service.md"))
    assert "`python -m notes_service --port {port}`" in service
    assert "- `DELETE /notes/{id}`:" in service


def test_summary_line() -> None:
    line = summary(load_spec(EXAMPLES / "text-tools.md"))
    assert line == (
        "text-tools: Python library, 7 acceptance criteria, "
        "budget 6 iterations / 60,000 tokens / 20m, risk low"
    )


def test_spec_check_prints_summary_or_one_clear_error(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(_cli(), ["spec", "check", str(EXAMPLES / "wordfreq.md")])
    assert ok.exit_code == 0
    assert "wordfreq: command-line tool, 7 acceptance criteria" in ok.output
    bad = tmp_path / "bad.md"
    bad.write_text("---\nname: x\nkind: library\nlanguage: go\n---\n")
    result = runner.invoke(_cli(), ["spec", "check", str(bad)])
    assert isinstance(result.exception, SpecError)
    assert str(result.exception).startswith(f"{bad}:")


def test_scenario_steps_of_each_kind(tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text(
        "name: mixed\nsteps:\n"
        "  - call: f(1)\n    expect: null\n"
        "  - run: wordfreq --top 1 'my file.txt'\n    files: {my file.txt: a a}\n    stdout_contains: a 2\n"
        "  - request: POST /notes\n    json: {text: hi}\n    status: 201\n"
    )
    call, run, request = load_scenario(path).steps
    assert isinstance(call, CallStep) and call.expects_value() and call.expect is None
    assert isinstance(run, RunStep) and run.argv() == ["wordfreq", "--top", "1", "my file.txt"]
    assert run.stdout_contains == ["a 2"] and run.exit_code == 0
    assert isinstance(request, RequestStep) and request.json_body == {"text": "hi"}


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("name: s\nsteps:\n  - call: f()\n    expcet: 1\n", 4, "expcet"),
        ("name: s\nsteps:\n  - call: f()\n  - shell: ls\n", 4, "exactly one of"),
        ("name: s\nsteps: []\n", 2, "steps"),
        ("name: s\nsteps:\n  - request: FETCH /x\n", 3, "GET /path"),
        ("name: s\nsteps: [\n", 3, "not valid YAML"),
    ],
)
def test_bad_scenarios_name_file_and_line(tmp_path: Path, body: str, line: int, words: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(body)
    with pytest.raises(SpecError) as info:
        load_scenario(path)
    assert info.value.line == line
    assert words in str(info.value)


def test_init_creates_a_working_project(tmp_path: Path) -> None:
    folder = tmp_path / "proj"
    result = CliRunner().invoke(_cli(), ["init", str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / "localfactory.toml").is_file()
    spec = load_spec(folder / "specs" / "text-tools.md")
    assert spec.name == "text-tools"
    scenarios = load_scenarios(folder / "scenarios" / "text-tools")
    assert [s.name for s in scenarios] == ["edge-cases"]
    assert (folder / "scenarios" / "text-tools" / "README.md").read_text().startswith("# Holdout")
    settings = load_settings(
        project_file=folder / "localfactory.toml", user_file=tmp_path / "none", environ={}
    )
    assert settings.project_dir == folder.resolve()


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "text-tools.md").write_text("mine")
    with pytest.raises(UserError, match="Not overwriting existing files"):
        create_project(tmp_path)
    assert (tmp_path / "specs" / "text-tools.md").read_text() == "mine"
    assert not (tmp_path / "localfactory.toml").exists()


def test_every_commented_setting_in_the_template_is_valid(tmp_path: Path) -> None:
    uncommented = "\n".join(
        line[2:] if line.startswith("# ") and " = " in line else line
        for line in CONFIG_TEMPLATE.splitlines()
    )
    assert tomllib.loads(uncommented)["llm"]["threads"] == 0
    path = tmp_path / "localfactory.toml"
    path.write_text(uncommented)
    settings = load_settings(project_file=path, user_file=tmp_path / "none", environ={})
    assert settings.role("coder").model == "qwen2.5-coder-1.5b"
