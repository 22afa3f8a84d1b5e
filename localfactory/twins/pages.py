"""Pagination the ways real APIs do it: opaque cursors, and numbered pages with Link headers."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import parse_qsl, urlencode

T = TypeVar("T")


class BadCursor(ValueError):
    """A cursor that this twin did not hand out."""


def encode_cursor(kind: str, key: str) -> str:
    """An opaque cursor naming where the next page starts (Slack's look like ``dXNlcjpVMDYx...``)."""
    return base64.b64encode(f"{kind}:{key}".encode()).decode()


def decode_cursor(cursor: str, kind: str) -> str:
    """The key inside ``cursor``; raises :class:`BadCursor` for anything not made by :func:`encode_cursor`."""
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor(cursor) from None
    found, sep, key = text.partition(":")
    if not sep or found != kind:
        raise BadCursor(cursor)
    return key


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_key: str | None
    """Key of the first item of the next page, or None on the last page."""


def page_after(items: Sequence[T], keys: Sequence[str], start: str | None, limit: int) -> Page[T]:
    """Up to ``limit`` items from the one whose key is ``start`` (the first when None).

    ``keys[i]`` is the key of ``items[i]``. An unknown ``start`` raises :class:`BadCursor`.
    """
    begin = 0
    if start is not None:
        try:
            begin = keys.index(start)
        except ValueError:
            raise BadCursor(start) from None
    end = begin + limit
    chunk = list(items[begin:end])
    next_key = keys[end] if end < len(items) else None
    return Page(chunk, next_key)


def link_header(url: str, query: str, page: int, per_page: int, total: int) -> str | None:
    """A GitHub-style ``Link`` header (next, last, first, prev) for numbered pages, or None for one page."""
    last = max(1, -(-total // per_page))
    params = dict(parse_qsl(query, keep_blank_values=True))

    def to(number: int) -> str:
        params["page"] = str(number)
        params["per_page"] = str(per_page)
        return f"<{url}?{urlencode(params)}>"

    parts: list[str] = []
    if page < last:
        parts += [f'{to(page + 1)}; rel="next"', f'{to(last)}; rel="last"']
    if page > 1:
        parts += [f'{to(1)}; rel="first"', f'{to(page - 1)}; rel="prev"']
    return ", ".join(parts) or None
