"""Rich text in API v2 (plain strings) and v3 (Atlassian Document Format), converted both ways.

A text becomes a document of paragraphs, one per line; a document becomes text by joining
its text nodes, a line per block. Whatever a client wrote is stored as it was and only
converted when read through the other version, so a v3 document keeps its marks.
"""

from __future__ import annotations

from typing import Any

from .errors import field_errors


def to_document(text: str) -> dict[str, Any]:
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def to_text(node: Any) -> str:
    """The text of a document (blocks on their own lines)."""
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    parts = [to_text(child) for child in node.get("content") or []]
    if node.get("type") in ("doc", "bulletList", "orderedList", "listItem", "table", "tableRow"):
        return "\n".join(parts)
    return "".join(parts)


def is_document(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") == "doc"
        and isinstance(value.get("content"), list)
    )


def shown(value: Any, version: int) -> Any:
    """A stored rich-text value as API ``version`` shows it (None stays None)."""
    if value is None:
        return None
    if version >= 3:
        return value if isinstance(value, dict) else to_document(str(value))
    return to_text(value) if isinstance(value, dict) else value


def accepted(value: Any, version: int, field: str) -> Any:
    """A rich-text value written through API ``version``; Jira's 400 when it is the wrong kind."""
    if value is None:
        return None
    if version >= 3:
        if not is_document(value):
            raise field_errors(
                {
                    field: "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                }
            )
        return value
    if not isinstance(value, str):
        raise field_errors({field: "Operation value must be a string"})
    return value


def is_blank(value: Any) -> bool:
    return not (to_text(value) if isinstance(value, dict) else str(value or "")).strip()
