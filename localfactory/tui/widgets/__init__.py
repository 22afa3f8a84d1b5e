"""Widgets of the TUI, one module per feature: the runs list, and one run in detail."""
