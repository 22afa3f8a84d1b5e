"""``localfactory ask``: one prompt through a role's model, streamed to the terminal."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from localfactory.errors import UserError


class BackendChoice(StrEnum):
    embedded = "embedded"
    ollama = "ollama"


def read_schema(path: Path) -> dict[str, Any]:
    """A JSON schema from a file, or a clear error."""
    try:
        schema = json.loads(path.read_text())
    except OSError as exc:
        raise UserError(f"Cannot read the JSON schema {path}: {exc.strerror}.") from None
    except ValueError as exc:
        raise UserError(f"{path} is not valid JSON: {exc}.") from None
    if not isinstance(schema, dict):
        raise UserError(f"{path} must hold a JSON object (a JSON schema).")
    return schema


def register(app: typer.Typer) -> None:
    @app.command("ask")
    def ask(
        prompt: Annotated[
            str, typer.Argument(help="What to ask ('-' reads it from standard input).")
        ],
        role: Annotated[str, typer.Option(help="The role whose model answers.")] = "coder",
        model: Annotated[str | None, typer.Option(help="Another model than the role's.")] = None,
        backend: Annotated[
            BackendChoice | None, typer.Option(help="Another backend than the role's.")
        ] = None,
        max_tokens: Annotated[
            int | None,
            typer.Option(min=1, help="Most tokens to generate (default: llm.max_tokens)."),
        ] = None,
        json_schema: Annotated[
            Path | None, typer.Option(help="A JSON schema file the answer must follow.")
        ] = None,
    ) -> None:
        """Send one prompt to a role's model and stream the answer; a summary line goes to stderr."""
        from localfactory.cli.common import settings
        from localfactory.llm import Router

        text = sys.stdin.read() if prompt == "-" else prompt
        schema = read_schema(json_schema) if json_schema is not None else None
        options = {"max_tokens": max_tokens} if max_tokens is not None else None

        def show(chunk: str) -> None:
            sys.stdout.write(chunk)
            sys.stdout.flush()

        result = Router(settings()).chat(
            role,
            text,
            options=options,
            json_schema=schema,
            model=model,
            backend=backend.value if backend else None,
            on_text=show,
        )
        if result.text and not result.text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
        print(result.summary(), file=sys.stderr)
