"""Prompts for the coder model writing one handler of a scaffolded twin.

Small models do best with a small, concrete task: one function, what the operation does
(from the document), the shape of what it answers, the helpers it may use with one
example of their use, and the stub to complete. Repairs quote what the conformance
scenario saw and ask for the whole function again.
"""

from __future__ import annotations

import json
from typing import Any

from localfactory.twins.scaffold_openapi import NO_EXAMPLE
from localfactory.twins.scaffold_plan import OperationPlan, ScaffoldPlan
from localfactory.twins.scaffold_schema import properties, schema_types

SYSTEM = (
    "You write Python handler functions for a digital twin: a local stand-in for a web API "
    "that keeps its records in memory. Answer with the complete function in one ```python "
    "code block, and nothing else."
)


def sketch(schema: dict[str, Any] | None, depth: int = 0) -> Any:
    """A compact picture of a schema's shape: ``{"id": "string", "tags": ["string"]}``."""
    if not schema:
        return "any"
    kinds = [k for k in schema_types(schema) if k != "null"]
    nullable = "null" in schema_types(schema)
    if (kinds[:1] == ["object"] or (not kinds and "properties" in schema)) and depth < 3:
        return {name: sketch(sub, depth + 1) for name, sub in properties(schema).items()}
    if kinds[:1] == ["array"] and isinstance(schema.get("items"), dict) and depth < 3:
        return [sketch(schema["items"], depth + 1)]
    name = kinds[0] if kinds else "any"
    if "enum" in schema:
        name += " (" + " | ".join(json.dumps(v) for v in schema["enum"]) + ")"
    return name + (" or null" if nullable else "")


def task_prompt(plan: ScaffoldPlan, op: OperationPlan) -> str:
    api = op.api
    lines = [f"Write the body of the handler for {api.method} {api.path} ({api.operation_id})."]
    if api.summary:
        lines.append(f"Summary: {api.summary}")
    if api.description:
        lines.append(f"What it does: {api.description.strip()}")
    params = [p.name for p in api.params("path")]
    if params:
        lines.append("Path parameters: " + ", ".join(f'call.path["{p}"]' for p in params))
    query = [p.name for p in api.params("query")]
    if query:
        lines.append("Query parameters: " + ", ".join(f'call.args.get("{q}")' for q in query))
    if api.body_schema is not None:
        lines.append(f"Request body (call.body): {json.dumps(sketch(api.body_schema))}")
    success = api.success
    if success is not None:
        lines.append(f"It answers {success.status} with: {json.dumps(sketch(success.schema))}")
        if success.example is not NO_EXAMPLE:
            lines.append(f"Example answer: {json.dumps(success.example)}")
    stub = f"def {op.function}(call: Call) -> Any:\n    ..."
    lines += ["", *_helpers(plan, op), "", "Complete this function:", "```python", stub, "```"]
    return "\n".join(lines)


def _helpers(plan: ScaffoldPlan, op: OperationPlan) -> list[str]:
    lines = ["Helpers, already imported:"]
    resource = op.resource
    for other in plan.resources:
        word = other.singular
        lines += [
            f"- {other.constant}.find(call) -> dict: the {word} named by the path (it answers 404 itself when there is none)",
            f"- {other.constant}.save(call, {word}) -> dict: stores a changed {word}",
            f"- {other.constant}.add(call, fields) -> dict: creates a {word} with a new id",
            f"- {other.constant}.all(call) -> list[dict]: every {word}",
        ]
    lines += [
        '- raise Refusal("conflict", status=409, detail="why"): answer with an error instead',
        "- Reply(body, status=201): answer with another status than the usual one",
        "Return the answer as a dict (or a list); the twin sends it as JSON.",
        "Write no imports: all of the above, Call and Any are imported already.",
    ]
    if resource is not None:
        word = resource.singular
        lines += [
            "",
            f"Example: a handler that renames a {word}:",
            "```python",
            f"def rename_{word}(call: Call) -> Any:",
            f"    {word} = {resource.constant}.find(call)",
            f'    {word}["name"] = call.body["name"]',
            f"    {resource.constant}.save(call, {word})",
            f"    return {word}",
            "```",
        ]
    return lines


def repair_prompt(function: str, problems: list[str]) -> str:
    shown = "\n".join(f"- {p}" for p in problems[:6])
    return (
        f"That did not work:\n{shown}\n\n"
        f"Write the corrected complete function `{function}` in one ```python code block."
    )
