"""One-character queries (the first keystroke): exact scores, kept in path order, and a stop as
soon as nothing later can enter the results.

A one-character match is its first occurrence (no window to shrink), scored exactly 16 plus twice
the bonus of its position (`matcher`). The candidates come in path order (the index is sorted),
so once `limit` are kept and no later one can score more than the worst kept (`ceiling_bonus`
bounds the whole text with a few C-speed searches), every later one loses, on score or on path:
`a` or `x` over 100,000 paths then scores a few hundred candidates instead of tens of thousands.
"""

from __future__ import annotations

import heapq
import re
import string
from collections.abc import Iterable
from itertools import pairwise

from app_server.file_search.matcher import (
    BONUS_BOUNDARY,
    BONUS_BOUNDARY_DELIMITER,
    BONUS_BOUNDARY_WHITE,
    BONUS_CAMEL123,
    BONUS_NON_WORD,
)

Kept = list[tuple[int, int, int]]
"""A min-heap of the best candidates so far: (score, -line start, match end); its root is the
worst kept (lowest score, then latest path)."""

_ASCII_ALNUM = frozenset(string.ascii_lowercase + string.digits)


def ceiling_bonus(lower: str, original: str, letter: str) -> int:
    """The largest bonus any occurrence of `letter` (lowercased) can get in `lower` (newline-
    separated lines, lowercased from `original`); a line's start counts as after a `/`. Each
    level is tested with a superset of the positions that get it, so the answer is never too
    low: an ASCII punctuation character always gets `BONUS_NON_WORD`; otherwise after a space,
    after a `/` or a line's start, after a non-word character, on a camelCase hump or digit
    run, else nothing. A character outside ASCII is not analysed (the largest bonus)."""
    if letter not in _ASCII_ALNUM:
        if letter.isascii() and not letter.isalnum() and letter != "/":
            return BONUS_NON_WORD
        return BONUS_BOUNDARY_WHITE
    if re.search(f"{letter}(?<=[^\\S\\n]{letter})", lower):
        return BONUS_BOUNDARY_WHITE
    if lower.startswith(letter) or f"\n{letter}" in lower or f"/{letter}" in lower:
        return BONUS_BOUNDARY_DELIMITER
    if re.search(f"{letter}(?<=[^a-z0-9\\s/]{letter})", lower):
        return BONUS_BOUNDARY
    if letter.isdigit():
        if re.search(f"{letter}(?<![0-9]{letter})", lower):
            return BONUS_CAMEL123
    elif original.count(letter) != lower.count(letter):  # an uppercase one: maybe a hump
        return BONUS_CAMEL123
    return 0


def offer(kept: Kept, candidate: tuple[int, int, int], limit: int) -> None:
    """Keep `candidate` (score, -line start, match end) if `kept` (a min-heap of at most
    `limit`) has room or it beats the worst kept."""
    if len(kept) < limit:
        heapq.heappush(kept, candidate)
    elif candidate > kept[0]:
        heapq.heapreplace(kept, candidate)


def keep_best(
    kept: Kept, candidates: Iterable[tuple[int, int, int]], limit: int, ceiling: int
) -> bool:
    """Add (score, line start, match end) candidates, coming in path order, to `kept` (at most
    `limit`); stop when `kept` is full and no candidate can score above `ceiling` more than
    its worst. True when stopped so (later candidates were not looked at)."""
    for value, line_start, end in candidates:
        if len(kept) == limit and ceiling <= kept[0][0]:
            return True
        offer(kept, (value, -line_start, end), limit)
    return False


def ranked(kept: Kept) -> list[tuple[int, int, int]]:
    """`kept` as (score, line start, match end), best first, ties by path."""
    return [(value, -negated, end) for value, negated, end in sorted(kept, reverse=True)]


def chain_bonus(lower: str, original: str, chars: str) -> int:
    """As `ceiling_bonus` for the first of `chars`, but counting only the occurrences that can
    start a scored window: followed by the other characters in order with, after each, no
    repeat of it before the next (the window is shrunk from the right, so each of its
    characters is the last of its kind before the next one). Tighter, and costlier (a few
    regular-expression scans of the text for this query), than `ceiling_bonus`."""
    first = chars[0]
    if first not in _ASCII_ALNUM:
        return ceiling_bonus(lower, original, first)
    chain = "".join(
        f"[^{_in_class(previous)}\\n]*?{re.escape(char)}" for previous, char in pairwise(chars)
    )
    if re.search(f"{first}(?<=[^\\S\\n]{first}){chain}", lower):
        return BONUS_BOUNDARY_WHITE
    if re.match(f"{first}{chain}", lower) or re.search(f"[\\n/]{first}{chain}", lower):
        return BONUS_BOUNDARY_DELIMITER
    if re.search(f"{first}(?<=[^a-z0-9\\s/]{first}){chain}", lower):
        return BONUS_BOUNDARY
    if first.isdigit():
        if re.search(f"{first}(?<![0-9]{first}){chain}", lower):
            return BONUS_CAMEL123
    elif not original.isascii() or re.search(f"{first.upper()}(?i:{chain})", original):
        return BONUS_CAMEL123
    return 0


def _in_class(char: str) -> str:
    return "\\" + char if char in "]\\^-[" else char
