"""Text shown as it is, redrawn only when it changes."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static


class Plain(Static):
    """A Static without markup (messages and paths may hold brackets) that refreshes only when
    :meth:`show` gets new text, so polling every second does not redraw the screen."""

    def __init__(self, text: str = "", **kwargs: Any) -> None:
        super().__init__(text, markup=False, **kwargs)
        self.text = text

    def show(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self.update(text)
