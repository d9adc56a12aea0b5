"""A root's walked paths, laid out for fast queries: all paths (in path order) joined by
newlines, as is and lowercased, and the files' names joined likewise, so that one
regular-expression scan finds the candidates of a tier, then only those are scored (`matcher`).

Speed: a query answers in ~0.3-20 ms of CPU on 100,000 paths (scripts/bench_file_search.py).
Python costs ~2 us per candidate scored, so a broad query is answered from as few candidates
as can be: one character by `letters`; longer queries from the names whose match can start at
a word (`Query.boundary`), taken in path order until nothing later can enter, whenever those
fill the results with scores nothing else can reach (a long scan, e.g. an extension `py` that
most names match inside a word, tightens its ceiling after `TIGHTEN_AFTER` windows: ~20 ms).
Match indices are computed for the returned rows only.

Blocking (CPU work); run searches in a worker thread. Memory: about four times the total
length of the paths (two joined copies of the paths and of the names, plus the list and
per-file offsets), e.g. ~20 MB for 100,000 paths.
"""

from __future__ import annotations

import heapq
import os
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from itertools import accumulate
from operator import attrgetter, itemgetter

from msgspec import Struct

from app_server.file_search.bounds import Window, keep_windows, rest_bound, window
from app_server.file_search.letters import (
    Kept,
    ceiling_bonus,
    chain_bonus,
    keep_best,
    offer,
    ranked,
)
from app_server.file_search.matcher import (
    BONUS_BOUNDARY,
    BONUS_BOUNDARY_WHITE,
    BONUS_CONSECUTIVE,
    BONUS_FIRST_CHAR_MULTIPLIER,
    DIRECTORY_NAME_BONUS,
    FILE_NAME_BONUS,
    PAIR_BONUS,
    SCORE_MATCH,
    Query,
    char_classes,
    first_bonus,
    score_at,
    score_value_at,
)
from app_server.file_search.walk import Entry, walk

TIGHTEN_AFTER = 4096
"""Windows of the boundary tier scored before its ceiling is tightened (`chain_bonus`, a few
regular-expression scans of the names, ~5-20 ms for 100,000 paths): a scan that has not
stopped by then is probably long (an extension, `py`, matches from inside most names)."""

MATCH_LIMIT = 50
"""Results one query answers (codex's app-server limit): ranking beyond them costs time and
message size for rows no picker shows."""


class Match(Struct, frozen=True):
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
        # In path order: ties then rank by offset, as by path (`_rank`).
        self._entries = entries = sorted(entries, key=attrgetter("path"))
        paths = [entry.path for entry in entries]
        self._text = "\n".join(paths)
        self._lower = self._text.lower()
        self._classes = char_classes(self._text)
        starts = list(accumulate((len(path) + 1 for path in paths), initial=0))
        starts.pop()
        self._starts = starts  # per entry: its path's offset in the joined paths
        directories = [n for n, entry in enumerate(entries) if entry.is_directory]
        self._directory_starts = {starts[n] for n in directories}
        self._directories_named: dict[str, list[int]] = {}  # lowercased name -> path offsets
        for n in directories:
            name = paths[n].rpartition("/")[2].lower()
            self._directories_named.setdefault(name, []).append(starts[n])
        # Files' names (after the last `/`), joined as the paths are: one scan of them finds
        # the files that get `FILE_NAME_BONUS`, which outrank every other file.
        files = [n for n, entry in enumerate(entries) if not entry.is_directory]
        names = [paths[n].rpartition("/")[2] for n in files]
        # Per file: its path's offset in the joined paths, its name's offset there, and its
        # name's offset in the joined names.
        self._file_lines = [starts[n] for n in files]
        self._name_offsets = [
            starts[n] + len(paths[n]) - len(name) for n, name in zip(files, names, strict=True)
        ]
        self._name_starts = list(accumulate((len(name) + 1 for name in names), initial=0))
        self._name_starts.pop()
        self._names = "\n".join(names)
        self._names_lower = self._names.lower()
        self._ceilings: dict[tuple[bool, str], int] = {}  # (names?, character) -> `_ceiling`

    @classmethod
    def build(cls, root: str) -> FileIndex:
        return cls(root, walk(root))

    def __len__(self) -> int:
        return len(self._entries)

    def search(
        self, query: Query, limit: int = MATCH_LIMIT, cancelled: Callable[[], bool] = bool
    ) -> list[Match]:
        """The best `limit` matches, best first (ties by path).

        In tiers, each skipped when the previous one already fills `limit` rows that nothing
        later can reach: (1) directories named as the query and files whose name holds the
        query from a word start (`Query.boundary`: the only ones whose window can start with a
        boundary bonus); (2) every file whose name matches (all outrank the rest); (3) every
        path. Broad queries ("a") thus score a tenth of the paths instead of most of them."""
        size = len(query.chars)
        if not size:
            return []
        haystack, pattern = (self._text if query.case_sensitive else self._lower), query.chars
        if size == 1:
            return self._search_letter(query, limit, cancelled)
        if "/" not in pattern:  # else no file name holds the query: only whole paths match
            directories = self._named_directories(query, haystack)
            kept: Kept = []
            keep_windows(kept, directories, limit, None, haystack, self._classes, pattern)
            boundary = self._name_windows(query, query.boundary, cancelled, exact_end=False)
            ceiling = self._boundary_ceiling(query, tight=False)
            keep_windows(
                kept,
                boundary,
                limit,
                ceiling,
                haystack,
                self._classes,
                pattern,
                tighten=(TIGHTEN_AFTER, lambda: self._boundary_ceiling(query, tight=True)),
            )
            if cancelled():
                return []
            if len(kept) == limit and kept[0][0] > rest_bound(size):
                return self._matches(ranked(kept), haystack, pattern)
            names = list(self._name_windows(query, query.prefilter, cancelled, exact_end=True))
            if cancelled():
                return []
            if len(directories) + len(names) >= limit:
                best = self._rank([*directories, *names], limit, haystack, pattern)
                return self._matches(best, haystack, pattern)
        windows = self._path_windows(query, haystack, cancelled)
        if windows is None:
            return []
        return self._matches(self._rank(windows, limit, haystack, pattern), haystack, pattern)

    def _search_letter(
        self, query: Query, limit: int, cancelled: Callable[[], bool]
    ) -> list[Match]:
        """A one-character query (`letters`): the directories named as it, then the files whose
        name holds it, then (when those are fewer than `limit`) every other path, each tier in
        path order until nothing later can enter."""
        haystack, letter = (self._text if query.case_sensitive else self._lower), query.chars
        names = self._names if query.case_sensitive else self._names_lower
        kept: Kept = []
        for _, _, base, line_start, end, bonus in self._named_directories(query, haystack):
            heapq.heappush(kept, (base + bonus, -line_start, end))  # exact: one character
        ceiling = (
            FILE_NAME_BONUS
            + SCORE_MATCH
            + BONUS_FIRST_CHAR_MULTIPLIER * self._ceiling(names, self._names, letter)
        )
        full = keep_best(kept, self._letter_names(query, names, cancelled), limit, ceiling)
        if cancelled():
            return []
        if not full and len(kept) < limit:  # every name match is kept: add the other paths
            seen = {-negated for _, negated, _ in kept}
            ceiling = SCORE_MATCH + BONUS_FIRST_CHAR_MULTIPLIER * self._ceiling(
                haystack, self._text, letter
            )
            others = self._letter_paths(query, haystack, seen, cancelled)
            keep_best(kept, others, limit, ceiling)
            if cancelled():
                return []
        return self._matches(ranked(kept), haystack, letter)

    def _ceiling(self, lower: str, original: str, letter: str) -> int:
        """`ceiling_bonus`, remembered per text and character: it scans the whole text (~5-40
        ms for 100,000 paths), which only the first query of each character should pay."""
        key = (lower is self._names or lower is self._names_lower, letter)
        found = self._ceilings.get(key)
        if found is None:
            found = self._ceilings[key] = ceiling_bonus(lower, original, letter)
        return found

    def _letter_names(
        self, query: Query, names: str, cancelled: Callable[[], bool]
    ) -> Iterator[tuple[int, int, int]]:
        """(score, line start, match end) of each file whose name holds the one-character
        query, in path order: its first occurrence in the name, plus `FILE_NAME_BONUS`."""
        classes = self._classes
        name_starts, name_offsets, lines = self._name_starts, self._name_offsets, self._file_lines
        pair_bonus = PAIR_BONUS.get
        for n, found in enumerate(query.prefilter.finditer(names)):
            if n % 4096 == 4095 and cancelled():
                return
            k = bisect_right(name_starts, found.start()) - 1
            end = found.start() + name_offsets[k] - name_starts[k]
            line_start = lines[k]
            pair = classes[end - 1 : end + 1] if end > line_start else "2" + classes[end]
            first = pair_bonus(pair)
            if first is None:  # a character outside ASCII
                first = first_bonus(classes, line_start, end)
            yield (
                FILE_NAME_BONUS + SCORE_MATCH + BONUS_FIRST_CHAR_MULTIPLIER * first,
                line_start,
                end,
            )

    def _letter_paths(
        self, query: Query, haystack: str, seen: set[int], cancelled: Callable[[], bool]
    ) -> Iterator[tuple[int, int, int]]:
        """(score, line start, match end) of each path holding the one-character query that
        is not in `seen` (line starts), in path order: its first occurrence in the path."""
        classes, rfind = self._classes, haystack.rfind
        pair_bonus = PAIR_BONUS.get
        for n, found in enumerate(query.prefilter.finditer(haystack)):
            if n % 4096 == 4095 and cancelled():
                return
            end = found.start()
            line_start = rfind("\n", 0, end) + 1
            if line_start in seen:
                continue
            pair = classes[end - 1 : end + 1] if end > line_start else "2" + classes[end]
            first = pair_bonus(pair)
            if first is None:  # a character outside ASCII
                first = first_bonus(classes, line_start, end)
            yield SCORE_MATCH + BONUS_FIRST_CHAR_MULTIPLIER * first, line_start, end

    def _named_directories(self, query: Query, haystack: str) -> list[Window]:
        """Windows of the directories named as the query (`DIRECTORY_NAME_BONUS`)."""
        windows = []
        for line_start in self._directories_named.get(query.chars.lower(), ()):
            line_end = line_start + len(self._entries[self._line(line_start)].path)
            found = query.prefilter.search(haystack, line_start, line_end)
            name_start = line_end - len(query.chars)
            if found is None or not haystack.startswith(query.chars, name_start):
                continue  # case-sensitive and not the same case
            end = found.end(1) - 1
            windows.append(
                window(haystack, self._classes, query.chars, line_start, end, DIRECTORY_NAME_BONUS)
            )
        return windows

    def _name_windows(
        self,
        query: Query,
        pattern: re.Pattern[str],
        cancelled: Callable[[], bool],
        *,
        exact_end: bool,
    ) -> Iterator[Window]:
        """Windows (plus `FILE_NAME_BONUS`) of the files whose name `pattern` finds, in path
        order; with `exact_end`, `pattern` is the query's prefilter and gives each name's
        earliest match end itself. Ends early when cancelled."""
        names = self._names if query.case_sensitive else self._names_lower
        haystack = self._text if query.case_sensitive else self._lower
        classes, chars, prefilter = self._classes, query.chars, query.prefilter
        name_starts, name_offsets, lines = self._name_starts, self._name_offsets, self._file_lines
        for n, found in enumerate(pattern.finditer(names)):
            if n % 4096 == 4095 and cancelled():
                return
            k = bisect_right(name_starts, found.start()) - 1
            if exact_end:
                end = found.end(1)
            else:
                earliest = prefilter.search(names, name_starts[k], found.end())
                assert earliest is not None  # the boundary match is a match
                end = earliest.end(1)
            end += name_offsets[k] - name_starts[k] - 1
            yield window(haystack, classes, chars, lines[k], end, FILE_NAME_BONUS)

    def _boundary_ceiling(self, query: Query, *, tight: bool) -> int:
        """The best score a file name can get for the query: its first character with the
        best bonus it gets anywhere in the names (`ceiling_bonus`; with `tight`, only where a
        window can start: `chain_bonus`), each later one with the best a character can inherit
        or get after its predecessor in a name (after a space if a name holds one, else after
        a non-word character: names hold no `/`)."""
        names = self._names if query.case_sensitive else self._names_lower
        chars = query.chars
        if tight:
            first = chain_bonus(names, self._names, chars)
        else:
            first = self._ceiling(names, self._names, chars[0])
        later = self._ceilings.get((True, " "))
        if later is None:
            spaced = re.search(r"[^\S\n]", names) is not None
            later = self._ceilings[(True, " ")] = BONUS_BOUNDARY_WHITE if spaced else BONUS_BOUNDARY
        return (
            FILE_NAME_BONUS
            + SCORE_MATCH * len(chars)
            + BONUS_FIRST_CHAR_MULTIPLIER * first
            + (len(chars) - 1) * max(first, later, BONUS_CONSECUTIVE)
        )

    def _path_windows(
        self, query: Query, haystack: str, cancelled: Callable[[], bool]
    ) -> list[Window] | None:
        """Every path's window: in a file's name when its name matches (as codex ranks), else
        in the whole path. None when cancelled."""
        classes, pattern, prefilter = self._classes, query.chars, query.prefilter
        rfind = haystack.rfind
        directories = self._directory_starts
        size = len(pattern)
        windows = []
        for n, found in enumerate(prefilter.finditer(haystack)):
            if n % 4096 == 0 and cancelled():
                return None
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
            windows.append(window(haystack, classes, pattern, line_start, end, bonus))
        return windows

    def _rank(
        self, windows: list[Window], limit: int, haystack: str, pattern: str
    ) -> list[tuple[int, int, int]]:
        """The best `limit` windows as (score, line start, match end), best first, ties by
        path. Windows are taken by bound, best first, in path order among equal bounds (a
        stable sort of the path-ordered windows), and scored exactly until a window's bound
        cannot beat the worst kept: then no later one can either."""
        classes = self._classes
        windows.sort(key=itemgetter(0), reverse=True)
        kept: list[tuple[int, int, int]] = []  # min-heap of (score, -line start, match end)
        for bound, exact, base, line_start, end, bonus in windows:
            if len(kept) == limit and (bound, -line_start) < kept[0][:2]:
                break
            value = base if exact else score_value_at(haystack, classes, pattern, line_start, end)
            offer(kept, (value + bonus, -line_start, end), limit)
        kept.sort(reverse=True)
        return [(value, -negated, end) for value, negated, end in kept]

    def _matches(
        self, ranked: list[tuple[int, int, int]], haystack: str, pattern: str
    ) -> list[Match]:
        """The ranked windows as results, with their matched indices (computed for these only)."""
        matches = []
        for value, line_start, end in ranked:
            entry = self._entries[self._line(line_start)]
            indices = score_at(self._text, haystack, self._classes, pattern, line_start, end)[1]
            matches.append(Match(self.root, entry.path, entry.is_directory, value, indices))
        return matches

    def _line(self, line_start: int) -> int:
        return bisect_right(self._starts, line_start) - 1


def merge(results: list[list[Match]], limit: int = MATCH_LIMIT) -> list[Match]:
    """Several roots' matches as one ranking."""
    return heapq.nsmallest(
        limit, (m for ms in results for m in ms), key=lambda m: (-m.score, m.path, m.root)
    )
