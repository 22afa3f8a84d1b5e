"""The router: each role's model and backend from the settings, and failover to the embedded engine."""

from __future__ import annotations

import pytest

from localfactory.config import DEFAULT_CODER, RoleSettings, Settings
from localfactory.errors import BackendUnavailable, ConfigError, ModelNotFound
from localfactory.llm import ChatBackend, Router
from localfactory.llm.scripted import Answer, ScriptedBackend


class Scripts:
    """Scripted backends by (backend, model); each built backend is kept for inspection."""

    def __init__(self, answers: dict[str, list[Answer]]) -> None:
        self.answers = answers
        self.built: dict[tuple[str, str], ScriptedBackend] = {}

    def __call__(self, backend: str, model: str, settings: Settings) -> ChatBackend:
        fake = ScriptedBackend(model, settings, script=self.answers.get(backend, []))
        fake.name = backend  # type: ignore[misc]  # records show the backend it stands for
        self.built[(backend, model)] = fake
        return fake

    def calls(self, backend: str) -> int:
        return sum(len(b.requests) for (name, _), b in self.built.items() if name == backend)


def use_ollama(settings: Settings, role: str, model: str, fallback: str | None = None) -> None:
    settings.roles[role] = RoleSettings(model=model, backend="ollama", fallback=fallback)


def test_each_role_gets_its_configured_model_and_backend(settings):
    scripts = Scripts({"embedded": ["plan", "verdict"]})
    router = Router(settings, make_backend=scripts)
    planner = router.chat("planner", "Plan the spec.")
    judge = router.chat("judge", "Judge it.")
    assert (planner.backend, planner.model, planner.text) == ("embedded", DEFAULT_CODER, "plan")
    assert (judge.model, judge.role) == ("qwen2.5-coder-0.5b", "judge")
    assert planner.fallback_reason is None


def test_model_and_backend_can_be_overridden_per_call(settings):
    scripts = Scripts({"ollama": ["remote"]})
    result = Router(settings, make_backend=scripts).chat(
        "coder", "hi", model="qwen2.5-coder-7b", backend="ollama"
    )
    assert (result.backend, result.model, result.text) == ("ollama", "qwen2.5-coder-7b", "remote")


def test_an_unknown_role_is_a_config_error_naming_the_known_ones(settings):
    with pytest.raises(ConfigError, match=r"reviewer.*configured roles: coder, judge"):
        Router(settings).chat("reviewer", "hi")


def test_ollama_down_falls_back_to_the_embedded_model_and_says_why(settings):
    use_ollama(settings, "coder", "qwen2.5-coder-1.5b")
    down = BackendUnavailable("Cannot reach the Ollama server at http://127.0.0.1:9.")
    scripts = Scripts({"ollama": [down], "embedded": ["local answer"]})
    seen: list[str] = []
    result = Router(settings, make_backend=scripts).chat("coder", "hi", on_text=seen.append)
    assert result.text == "local answer" == "".join(seen)
    assert (result.backend, result.model) == ("embedded", "qwen2.5-coder-1.5b")
    assert result.fallback_reason is not None
    assert "Cannot reach the Ollama server at http://127.0.0.1:9." in result.fallback_reason
    assert "embedded qwen2.5-coder-1.5b answered instead" in result.fallback_reason


@pytest.mark.parametrize(
    ("model", "fallback", "expected"),
    [
        ("qwen2.5-coder-7b", "qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b"),  # the role's fallback
        ("qwen2.5-coder-0.5b", None, "qwen2.5-coder-0.5b"),  # the role's model has a GGUF
        ("qwen2.5-coder-7b", None, DEFAULT_CODER),  # Ollama-only model: the default coder
        ("llama3:8b", None, DEFAULT_CODER),  # a model only Ollama knows
    ],
)
def test_the_fallback_model(settings, model, fallback, expected):
    use_ollama(settings, "judge", model, fallback)
    scripts = Scripts({"ollama": [BackendUnavailable("down")], "embedded": ["ok"]})
    result = Router(settings, make_backend=scripts).chat("judge", "hi")
    assert (result.backend, result.model) == ("embedded", expected)


def test_a_failure_after_text_arrived_is_raised_not_answered_twice(settings):
    use_ollama(settings, "coder", "qwen2.5-coder-1.5b")
    broken = ["def f():", "\n    return", BackendUnavailable("The connection broke.")]
    scripts = Scripts({"ollama": [broken], "embedded": ["never"]})
    seen: list[str] = []
    with pytest.raises(BackendUnavailable, match="connection broke"):
        Router(settings, make_backend=scripts).chat("coder", "hi", on_text=seen.append)
    assert "".join(seen) == "def f():\n    return"
    assert scripts.calls("embedded") == 0


def test_embedded_failures_are_not_failed_over(settings):
    missing = ModelNotFound("Model qwen2.5-coder-1.5b is not installed.")
    scripts = Scripts({"embedded": [missing], "ollama": ["never"]})
    with pytest.raises(ModelNotFound):
        Router(settings, make_backend=scripts).chat("coder", "hi")
    assert scripts.calls("ollama") == 0


def test_a_failed_fallback_names_both_failures(settings):
    use_ollama(settings, "coder", "qwen2.5-coder-1.5b")
    missing = ModelNotFound("Model qwen2.5-coder-1.5b is not installed.", hint="Run install.")
    scripts = Scripts({"ollama": [BackendUnavailable("Ollama is down.")], "embedded": [missing]})
    with pytest.raises(BackendUnavailable) as caught:
        Router(settings, make_backend=scripts).chat("coder", "hi")
    message = str(caught.value)
    assert "Ollama is down." in message
    assert "embedded fallback qwen2.5-coder-1.5b cannot answer either" in message
    assert "Run install." in message


def test_a_failed_ollama_model_is_not_retried_for_a_while(settings):
    use_ollama(settings, "coder", "qwen2.5-coder-1.5b")
    scripts = Scripts({"ollama": [BackendUnavailable("down"), "back"], "embedded": ["a", "b"]})
    router = Router(settings, make_backend=scripts, retry_ollama_after_s=3600)
    router.chat("coder", "one")
    second = router.chat("coder", "two")
    assert scripts.calls("ollama") == 1
    assert second.backend == "embedded"
    assert second.fallback_reason is not None and "not retried yet" in second.fallback_reason


def test_ollama_is_tried_again_once_the_wait_is_over(settings):
    use_ollama(settings, "coder", "qwen2.5-coder-1.5b")
    scripts = Scripts({"ollama": [BackendUnavailable("down"), "back"], "embedded": ["a"]})
    router = Router(settings, make_backend=scripts, retry_ollama_after_s=0)
    router.chat("coder", "one")
    second = router.chat("coder", "two")
    assert (second.backend, second.text, second.fallback_reason) == ("ollama", "back", None)
