"""How judges reach a model, and the rule that keeps them apart from what they judge.

A judge asks through an :data:`Ask` function, so the same judge works inside the factory
(through the run's :class:`~localfactory.factory.calls.ModelGateway`, every call recorded
and replayed on resume), on the router directly (``bench judge``, ``review``), or on a
scripted backend in unit tests.

Independence: a judge never judges text written by its own role or call chain. The
:class:`Provenance` of judged text names the roles (and models) that wrote it; a judge
whose role is among them refuses (:class:`NotIndependent`). When the same model serves
the judge and the writer, the judge still runs with a fresh context: its messages are
built anew (never a continuation of the writer's conversation), its system prompt shares
no leading text with the generating roles' prompt, and the embedded engine keeps saved KV
states per ``(loaded model, role)`` (:mod:`localfactory.llm.role_states`), so the judge
role never restores the writer's state; at most the chat template's opening tokens
(``<|im_start|>system``) are reused from the live cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from localfactory.errors import UserError
from localfactory.llm.call import Message

if TYPE_CHECKING:
    from localfactory.config import Settings
    from localfactory.factory.calls import ChatFn, ModelGateway
    from localfactory.llm.router import Router
    from localfactory.spec import Spec


@dataclass(frozen=True)
class Reply:
    """A model's answer as a judge needs it."""

    text: str
    model: str | None = None
    cached_tokens: int | None = None
    """Prompt tokens the backend reused from a KV cache (None: unknown)."""
    finish_reason: str | None = None


class Ask(Protocol):
    def __call__(
        self,
        role: str,
        messages: Sequence[Message],
        *,
        json_schema: dict[str, Any],
        max_tokens: int,
    ) -> Reply: ...


class NotIndependent(UserError):
    """A judge was asked to judge text written by its own role."""


@dataclass(frozen=True)
class Provenance:
    """Who wrote the judged text: the roles (and their models) whose calls produced it."""

    roles: frozenset[str]
    models: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, settings: Settings, *roles: str, spec: Spec | None = None) -> Provenance:
        """The provenance of text written by ``roles`` under these settings (and spec's models)."""
        return cls(frozenset(roles), frozenset(role_model(settings, r, spec) for r in roles))


def role_model(settings: Settings, role: str, spec: Spec | None = None) -> str:
    """The model that serves ``role`` (the spec's choice first, then the settings)."""
    chosen = spec.models.chosen() if spec is not None else {}
    return chosen.get(role) or settings.role(role).model


def check_independent(judge_role: str, judge_model: str | None, produced_by: Provenance) -> bool:
    """Refuse a judge of its own role's text; True when it shares the writer's model."""
    if judge_role in produced_by.roles:
        raise NotIndependent(
            f"The {judge_role!r} role cannot judge text it wrote itself.",
            hint="Configure validators with a judge role other than the roles that generate code.",
        )
    return judge_model is not None and judge_model in produced_by.models


def ask_router(router: Router, *, model: str | None = None, for_role: str = "judge") -> Ask:
    """Ask through the router; ``model`` replaces the model of ``for_role`` only (``bench judge --model``)."""

    def ask(
        role: str, messages: Sequence[Message], *, json_schema: dict[str, Any], max_tokens: int
    ) -> Reply:
        result = router.chat(
            role,
            list(messages),
            json_schema=json_schema,
            options={"max_tokens": max_tokens},
            model=model if role == for_role else None,
        )
        return Reply(result.text, result.model, result.cached_tokens, result.finish_reason)

    return ask


def ask_chat(chat: ChatFn) -> Ask:
    """Ask through a function with the router's ``chat`` signature (``Factory.chat_fn``)."""

    def ask(
        role: str, messages: Sequence[Message], *, json_schema: dict[str, Any], max_tokens: int
    ) -> Reply:
        result = chat(
            role, list(messages), json_schema=json_schema, options={"max_tokens": max_tokens}
        )
        return Reply(result.text, result.model, result.cached_tokens, result.finish_reason)

    return ask


def ask_gateway(gateway: ModelGateway, settings: Settings, spec: Spec | None = None) -> Ask:
    """Ask through the run's gateway: recorded in the run store, reused on resume and replay."""

    def ask(
        role: str, messages: Sequence[Message], *, json_schema: dict[str, Any], max_tokens: int
    ) -> Reply:
        answer = gateway.chat(
            role, list(messages), json_schema=json_schema, options={"max_tokens": max_tokens}
        )
        return Reply(answer.text, role_model(settings, role, spec))

    return ask
