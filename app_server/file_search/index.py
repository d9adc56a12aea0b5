"""A root's walked paths, laid out for fast queries: all paths joined by newlines (as is and
lowercased), so that one regular-expression scan finds the candidates, then only those are
scored (`matcher`).

Blocking (CPU work); run searches in a worker thread. Memory: about three times the total
length of the paths (two joined copies plus the list), e.g. ~15 MB for 100,000 paths.
"""

from __future__ import annotations

import heapq
import os
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from app_server.file_search.matcher import Query, score
from app_server.file_search.walk import Entry, walk

MATCH_LIMIT = 50
"""Results one query answers (codex's app-server limit): ranking beyond them costs time and
message size for rows no picker shows."""


@dataclass(frozen=True, slots=True)
class Match:
    """One ranked result."""

    root: str
    path: str
    is_directory: bool
    score: int
    indices: list[int]

    @property
    def file_name(self) -> str:
        return os.path.basename(self.path)


class FileIndex:
    """The candidates of one root."""

    def __init__(self, root: str, entries: list[Entry]) -> None:
        self.root = root
        self._entries = entries
        self._text = "\n".join(e.path for e in entries)
        self._lower = self._text.lower()
        self._starts: list[int] = []
        offset = 0
        for entry in entries:
            self._starts.append(offset)
            offset += len(entry.path) + 1

    @classmethod
    def build(cls, root: str) -> FileIndex:
        return cls(root, walk(root))

    def __len__(self) -> int:
        return len(self._entries)

    def search(
        self, query: Query, limit: int = MATCH_LIMIT, cancelled: Callable[[], bool] = bool
    ) -> list[Match]:
        """The best `limit` matches, best first (ties by path)."""
        haystack = self._text if query.case_sensitive else self._lower
        scored: list[tuple[int, str, int, list[int]]] = []
        for n, found in enumerate(query.prefilter.finditer(haystack)):
            if n % 4096 == 0 and cancelled():
                return []
            line = bisect_right(self._starts, found.start()) - 1
            entry = self._entries[line]
            result = score(entry.path, query)
            if result is not None:
                scored.append((result[0], entry.path, line, result[1]))
        best = heapq.nsmallest(limit, scored, key=lambda s: (-s[0], s[1]))
        return [
            Match(self.root, path, self._entries[line].is_directory, value, indices)
            for value, path, line, indices in best
        ]


def merge(results: list[list[Match]], limit: int = MATCH_LIMIT) -> list[Match]:
    """Several roots' matches as one ranking."""
    return heapq.nsmallest(
        limit, (m for ms in results for m in ms), key=lambda m: (-m.score, m.path, m.root)
    )
