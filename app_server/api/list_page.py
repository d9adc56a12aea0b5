"""One page of a short, fixed catalog (`model/list`, `permissionProfile/list`,
`experimentalFeature/list`).

The cursor is the position of the next entry in ASCII digits, checked as text before it is
converted (a million-digit or non-ASCII "digit" cursor is refused, not converted).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from app_server.errors import InvalidRequest

T = TypeVar("T")


def list_page(
    items: Sequence[T], cursor: str | None, limit: int | None, default_limit: int
) -> tuple[list[T], str | None]:
    """The entries from `cursor` on, at most `limit` (or `default_limit` when None or 0), and
    the cursor of the next page (None on the last)."""
    start = 0 if cursor is None else _position(cursor, len(items))
    size = limit or default_limit
    page = list(items[start : start + size])
    end = start + len(page)
    return page, str(end) if end < len(items) else None


def _position(cursor: str, count: int) -> int:
    digits = cursor.lstrip("0") or "0"
    if not (cursor.isascii() and cursor.isdigit()) or len(digits) > len(str(count)):
        raise InvalidRequest(f"invalid cursor: {cursor}")
    position = int(digits)
    if position > count:
        raise InvalidRequest(f"invalid cursor: {cursor}")
    return position
