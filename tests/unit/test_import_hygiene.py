"""The headless core never loads the TUI, and the CLI starts without heavy libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE_MODULES = [
    "localfactory.config",
    "localfactory.models.catalog",
    "localfactory.models.manifest",
    "localfactory.cli",
]
HEAVY = ["textual", "llama_cpp", "docker", "uvicorn", "starlette", "slack_sdk"]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_load_heavy_libraries(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"


def test_help_lists_the_command_groups() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "localfactory", "--help"], capture_output=True, text=True, check=True
    )
    for group in ("models", "bench", "ask", "twin", "spec"):
        assert group in out.stdout
