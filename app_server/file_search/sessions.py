"""Indexes of search roots, shared by one-shot searches and kept by sessions.

A one-shot `fuzzyFileSearch` reuses a root's index for `INDEX_TTL_S` (an IDE's picker sends a
query per keystroke), then walks again so new files show up. A session walks its roots once at
`sessionStart` and answers every `sessionUpdate` from that walk until `sessionStop`.
"""

from __future__ import annotations

import asyncio
import time

from msgspec import Struct

from app_server.file_search.index import FileIndex, Match, merge
from app_server.file_search.matcher import parse_query

INDEX_TTL_S = 10.0
"""How long a one-shot search reuses a root's walk: longer saves walks (a large tree's costs
about a second) but may miss files created meanwhile."""

MAX_CACHED_ROOTS = 16
"""Roots whose index is kept for one-shot searches (each costs ~3x its paths' length)."""


class _Cached(Struct):
    built: float
    index: asyncio.Future[FileIndex]


class IndexCache:
    """Per-root indexes for one-shot searches, built in a worker thread, shared while fresh."""

    def __init__(self) -> None:
        self._cache: dict[str, _Cached] = {}

    async def get(self, root: str) -> FileIndex:
        cached = self._cache.get(root)
        now = time.monotonic()
        if cached is None or now - cached.built > INDEX_TTL_S:
            future = asyncio.ensure_future(asyncio.to_thread(FileIndex.build, root))
            cached = _Cached(now, future)
            self._cache[root] = cached
            while len(self._cache) > MAX_CACHED_ROOTS:
                del self._cache[next(iter(self._cache))]
        return await asyncio.shield(cached.index)


async def search(
    indexes: list[FileIndex], query: str, cancelled: asyncio.Event | None = None
) -> list[Match]:
    """The best matches of `query` over every index (empty for an empty query, as codex)."""
    parsed = parse_query(query)
    if not parsed.chars:
        return []

    def run() -> list[Match]:
        is_cancelled = cancelled.is_set if cancelled is not None else lambda: False
        return merge([index.search(parsed, cancelled=is_cancelled) for index in indexes])

    return await asyncio.to_thread(run)
