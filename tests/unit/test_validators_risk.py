"""Risk scores: what a change touches, its size, satisfaction, judges' doubts, the spec's risk."""

from __future__ import annotations

from typing import Any

from localfactory.config import ValidatorSettings
from localfactory.spec import Spec
from localfactory.validators.risk import assess, touched_areas

PAYMENTS = '''\
"""Charging customers."""

def charge_card(card_number: str, amount_cents: int) -> str:
    if amount_cents <= 0:
        raise ValueError("amount must be positive")
    return f"charged {amount_cents}"
'''

TEXT_TOOLS = """\
def slugify(text: str) -> str:
    words = text.lower().split()
    if "" in words:
        words.remove("")
    return "-".join(words)
"""

SATISFIED = {"overall": 1.0, "threshold": 1.0}


def spec(risk: Any = "low", **interface: Any) -> Spec:
    return Spec.model_validate({
        "name": "shop", "kind": interface.pop("kind", "library"),
        "interface": interface or {"module": "shop", "functions": ["total(items: list) -> int"]},
        "acceptance": ["total([]) is 0"], "risk": risk,
    })  # fmt: skip


def score(files: dict[str, str], **kw: Any):
    kw.setdefault("diff_lines", 20)
    kw.setdefault("spec", spec())
    kw.setdefault("settings", ValidatorSettings())
    kw.setdefault("satisfaction", SATISFIED)
    return assess(files, **kw)


def test_a_change_touching_a_payments_module_is_held_with_its_reasons():
    risk = score({"shop/payments.py": PAYMENTS, "shop/__init__.py": ""})
    assert risk.held
    assert risk.score >= risk.threshold == 0.5
    assert risk.reasons[0].text.startswith("touches payments: shop/payments.py (file name)")
    assert "charge_card" in risk.reasons[0].text


def test_a_plain_text_tool_is_accepted_automatically():
    risk = score({"text_tools.py": TEXT_TOOLS})
    assert not risk.held
    assert risk.score == 0.0
    assert risk.reasons == []


def test_each_sensitive_area_is_found_from_code_and_names():
    code = """\
import os, shutil, subprocess, socket

def login(user, password):
    return user

def purge_cache(folder):
    shutil.rmtree(folder)

def set_mode(path):
    os.chmod(path, 0o600)

def read_key():
    return os.environ["API_KEY"], os.getenv("X")

def run(cmd):
    return subprocess.run(cmd)

QUERY = "DELETE FROM users WHERE id = ?"
"""
    areas = touched_areas({"app.py": code, "tests/test_app.py": "def test_payment(): pass"})
    assert set(areas) == {
        "authentication", "deletion", "permissions", "secrets", "shell", "network",
    }  # fmt: skip
    assert "app.py:7 shutil.rmtree()" in areas["deletion"]
    assert "app.py:18 delete" in areas["deletion"]
    assert "app.py:13 os.environ[...]" in areas["secrets"]


def test_common_container_methods_and_token_words_do_not_count_as_sensitive():
    code = "def count(tokens):\n    tokens.remove('a')\n    return len(tokens)\n"
    assert touched_areas({"words.py": code}) == {}


def test_size_unmeasured_satisfaction_and_a_high_risk_spec_add_up():
    risk = score({"text_tools.py": TEXT_TOOLS}, diff_lines=900, satisfaction=None)
    texts = [r.text for r in risk.reasons]
    assert "a very large change: 900 lines changed" in texts
    assert "satisfaction was not measured (no holdout scenarios)" in texts
    assert not risk.held  # 0.3 + 0.1

    high = spec({"level": "high", "reasons": ["moves money"]})
    risk = score({"text_tools.py": TEXT_TOOLS}, spec=high)
    assert risk.held
    assert "the spec says its risk is high (moves money)" in [r.text for r in risk.reasons]


def test_undecided_judgements_and_failed_validators_raise_the_score():
    verdicts = [
        {"validator": "scrutiny", "outcome": "undecided", "undecided": 2, "needs_human": 1,
         "summary": "..."},
        {"validator": "user_testing", "outcome": "fail", "undecided": 0, "needs_human": 0,
         "summary": "user testing fail: 0/1 judged criteria met"},
    ]  # fmt: skip
    risk = score({"text_tools.py": TEXT_TOOLS}, verdicts=verdicts)
    texts = [r.text for r in risk.reasons]
    assert "judges disagreed with themselves on 2 question(s) (1 need a human)" in texts
    assert any(t.startswith("the user_testing validator failed") for t in texts)
    assert risk.held


def test_satisfaction_below_target_and_delete_routes_count():
    service = spec(kind="http-service", module="api", routes={"DELETE /items/{id}": "removes"})
    risk = score(
        {"api.py": "x = 1\n"}, spec=service, satisfaction={"overall": 0.5, "threshold": 0.9}
    )
    texts = [r.text for r in risk.reasons]
    assert "satisfaction 50% is below its target 90%" in texts
    assert "touches deletion: the route DELETE /items/{id}" in texts
    assert risk.held  # 0.3 + 0.3


def test_the_threshold_comes_from_the_settings():
    lenient = ValidatorSettings(risk_threshold=0.9)
    assert not score({"shop/payments.py": PAYMENTS}, settings=lenient).held


def test_shortening_text_is_not_deletion() -> None:
    source = "def truncate(text: str, width: int) -> str:\n    return text[:width]\n"
    assert "deletion" not in touched_areas({"text_tools.py": source})
    assert "deletion" in touched_areas({"store.py": "def delete_note(key):\n    pass\n"})
