"""A question with one line of answer: a spec's path, a review comment."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class Ask(ModalScreen[str | None]):
    """Enter answers (with the text typed), Escape cancels (with None)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    Ask { align: center middle; }
    Ask > Vertical { width: 80%; max-width: 100; height: auto; border: thick $accent;
                     background: $surface; padding: 1 2; }
    Ask #hint { color: $text-muted; }
    """

    def __init__(self, question: str, *, value: str = "", hint: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.question = question
        self.value = value
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, markup=False)
            yield Input(value=self.value, id="answer")
            yield Static(
                f"{self.hint}\nEnter: OK · Escape: cancel".lstrip(), id="hint", markup=False
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
