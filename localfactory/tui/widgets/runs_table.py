"""The runs list: one row per run, newest first, updated in place as the store changes."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from localfactory.tui.rows import COLUMNS, RunRow


class RunsTable(DataTable[Text]):
    """Rows keyed by run id; :meth:`show` changes only what changed, keeping the selection.

    Cells are plain text, never markup (a spec name or state is shown as it is)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._shown: list[RunRow] = []

    def on_mount(self) -> None:
        for key, title in COLUMNS:
            self.add_column(title, key=key)

    @property
    def selected(self) -> str | None:
        """The run id under the cursor."""
        if not 0 <= self.cursor_row < len(self._shown):
            return None
        return self._shown[self.cursor_row].id

    def show(self, rows: list[RunRow]) -> None:
        ids = [r.id for r in rows]
        if ids != [r.id for r in self._shown]:
            keep = self.selected
            self._shown = rows
            self.clear()
            for row in rows:
                self.add_row(*map(Text, row.cells()), key=row.id)
            if ids:
                self.move_cursor(row=ids.index(keep) if keep in ids else 0)
            return
        for old, new in zip(self._shown, rows, strict=True):
            for (key, _title), before, after in zip(COLUMNS, old.cells(), new.cells(), strict=True):
                if before != after:
                    self.update_cell(new.id, key, Text(after), update_width=True)
        self._shown = rows
