"""A run's report: where its files are, and its Markdown, readable in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, MarkdownViewer, Static


class ReportScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]
    DEFAULT_CSS = """
    ReportScreen > Vertical { background: $surface; }
    ReportScreen #where { height: auto; padding: 0 1; background: $boost; }
    """

    def __init__(self, markdown: str, md: Path, page: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.markdown = markdown
        self.md = md
        self.page = page

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"report: {self.page}\nMarkdown: {self.md}", id="where", markup=False)
            yield MarkdownViewer(self.markdown, show_table_of_contents=False)
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
