"""The terminal UI: runs of this project, live, and what a person does with them.

This package is the only one that imports textual (the headless core never does: see the
import-linter contract in pyproject.toml). :func:`localfactory.tui.app.make_app` builds the
app; ``localfactory tui`` and the tests both call it.
"""
