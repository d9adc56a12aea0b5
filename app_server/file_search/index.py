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
    DIRECTORY_NAME_BONUS,
    FILE_NAME_BONUS,
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
        self._directory_starts: set[int] = set()
        self._starts: list[int] = []
        offset = 0
        for entry in entries:
            self._starts.append(offset)
            if entry.is_directory:
                self._directory_starts.add(offset)
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
        classes, pattern, prefilter = self._classes, query.chars, query.prefilter
        rfind = haystack.rfind
        directories = self._directory_starts
        size = len(pattern)
        # Pass 1 (cheap): each candidate's window — in a file's name when its name matches (as
        # codex ranks), else in the whole path — and a bound on its score (`_window`).
        windows: list[tuple[int, bool, int, int, int, int]] = []
        # (bound, base is exact, base, window's line start, match end, name bonus)
        for n, found in enumerate(prefilter.finditer(haystack)):
            if n % 4096 == 0 and cancelled():
                return []
            line_start = rfind("\n", 0, found.start()) + 1
            line_end = found.end()
            end = found.end(1) - 1
            name_start = rfind("/", line_start, line_end) + 1 or line_start
            bonus = 0
            if line_start in directories:
                if line_end - name_start == size and haystack.startswith(pattern, name_start):
                    bonus = DIRECTORY_NAME_BONUS
            else:
                in_name = prefilter.search(haystack, name_start, line_end)
                if in_name is not None:
                    bonus = FILE_NAME_BONUS
                    end = in_name.end(1) - 1
            exact, base = _window(haystack, classes, pattern, line_start, end)
            windows.append((base + bonus, exact, base, line_start, end, bonus))
        # Pass 2: exact scores, best bounds first, until no remaining bound can reach the
        # `limit`-th best score found (ties included: they compete on path).
        windows.sort(key=lambda w: -w[0])
        floor: list[int] = []  # min-heap of the best `limit` scores so far
        scored: list[tuple[int, int, int]] = []
        for bound, exact, base, line_start, end, bonus in windows:
            if len(floor) == limit and bound < floor[0]:
                break
            value = base if exact else score_value_at(haystack, classes, pattern, line_start, end)
            value += bonus
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
            indices = score_at(self._text, haystack, classes, pattern, line_start, end)[1]
            matches.append(Match(self.root, entry.path, entry.is_directory, value, indices))
        return matches


def _window(
    haystack: str, classes: str, pattern: str, line_start: int, end: int
) -> tuple[bool, int]:
    """For the match of `pattern` ending earliest at `end`, shrunk from the right: whether the
    bound below is its exact base score, and that bound — the score if every character after
    the first got the largest bonus and the gaps were one run. It is exact for a one-character
    query, and for an unbroken run whose first character has the largest bonus (every later
    character then inherits it)."""
    size = len(pattern)
    pos = end + 1
    for ch in reversed(pattern):
        pos = haystack.rfind(ch, line_start, pos)
    gaps = end - pos + 1 - size
    pair = classes[pos - 1 : pos + 1] if pos > line_start else "2" + classes[pos]
    first = PAIR_BONUS.get(pair)
    if first is None:  # a character outside ASCII
        first = first_bonus(classes, line_start, pos)
    bound = (
        SCORE_MATCH * size + BONUS_BOUNDARY_WHITE * (size - 1) + BONUS_FIRST_CHAR_MULTIPLIER * first
    )
    if gaps:
        bound -= gaps + PENALTY_GAP_START - PENALTY_GAP_EXTENSION
    return size == 1 or (not gaps and first == BONUS_BOUNDARY_WHITE), bound


def merge(results: list[list[Match]], limit: int = MATCH_LIMIT) -> list[Match]:
    """Several roots' matches as one ranking."""
    return heapq.nsmallest(
        limit, (m for ms in results for m in ms), key=lambda m: (-m.score, m.path, m.root)
    )
