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

from app_server.file_search.matcher import (
    BONUS_BOUNDARY_WHITE,
    BONUS_FIRST_CHAR_MULTIPLIER,
    PAIR_BONUS,
    PENALTY_GAP_EXTENSION,
    PENALTY_GAP_START,
    SCORE_MATCH,
    Query,
    char_classes,
    first_bonus,
    score_at,
    score_value_at,
)
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
        self._classes = char_classes(self._text)
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
        classes, pattern = self._classes, query.chars
        rfind = haystack.rfind
        size = len(pattern)
        pair_bonus = PAIR_BONUS
        rest = SCORE_MATCH * size + BONUS_BOUNDARY_WHITE * (size - 1)
        # Pass 1 (cheap): each candidate's window (earliest end, shrunk from the right) and the
        # most it could score given its first character's bonus and its gaps. That bound is the
        # exact score for a one-character query, and for an unbroken run starting with the
        # largest bonus (which every later character then inherits).
        windows: list[tuple[int, bool, int, int]] = []  # (bound, exact, line start, match end)
        for n, found in enumerate(query.prefilter.finditer(haystack)):
            if n % 4096 == 0 and cancelled():
                return []
            line_start = rfind("\n", 0, found.start()) + 1
            end = found.end(1) - 1
            pos = end + 1
            for ch in reversed(pattern):
                pos = rfind(ch, line_start, pos)
            gaps = end - pos + 1 - size
            pair = classes[pos - 1 : pos + 1] if pos > line_start else "0" + classes[pos]
            first = pair_bonus.get(pair)
            if first is None:  # a character outside ASCII
                first = first_bonus(classes, line_start, pos)
            bound = rest + BONUS_FIRST_CHAR_MULTIPLIER * first
            if gaps:
                bound -= gaps + PENALTY_GAP_START - PENALTY_GAP_EXTENSION
            exact = size == 1 or (not gaps and first == BONUS_BOUNDARY_WHITE)
            windows.append((bound, exact, line_start, end))
        # Pass 2: exact scores, best bounds first, until no remaining bound can reach the
        # `limit`-th best score found (ties included: they compete on path).
        windows.sort(key=lambda w: -w[0])
        floor: list[int] = []  # min-heap of the best `limit` scores so far
        scored: list[tuple[int, int, int]] = []
        for bound, exact, line_start, end in windows:
            if len(floor) == limit and bound < floor[0]:
                break
            value = bound if exact else score_value_at(haystack, classes, pattern, line_start, end)
            scored.append((value, line_start, end))
            if len(floor) < limit:
                heapq.heappush(floor, value)
            elif value > floor[0]:
                heapq.heapreplace(floor, value)
        if not scored:
            return []
        # The best `limit` by score; every candidate tied with the last of them competes on path.
        cut = heapq.nlargest(limit, scored, key=lambda s: s[0])[-1][0]
        finalists = []
        for value, line_start, end in scored:
            if value >= cut:
                line = bisect_right(self._starts, line_start) - 1
                finalists.append((value, self._entries[line], line_start, end))
        finalists.sort(key=lambda f: (-f[0], f[1].path))
        matches = []
        for value, entry, line_start, end in finalists[:limit]:
            _, indices = score_at(self._text, haystack, classes, pattern, line_start, end)
            matches.append(Match(self.root, entry.path, entry.is_directory, value, indices))
        return matches


def merge(results: list[list[Match]], limit: int = MATCH_LIMIT) -> list[Match]:
    """Several roots' matches as one ranking."""
    return heapq.nsmallest(
        limit, (m for ms in results for m in ms), key=lambda m: (-m.score, m.path, m.root)
    )
