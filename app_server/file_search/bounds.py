"""Candidates before their exact score: a match's window (the earliest match end, shrunk from
the right) and an upper bound on its score, exact where it can be told without scoring, so that
the index scores exactly only the candidates whose bound can still reach the results."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from app_server.file_search.letters import offer
from app_server.file_search.matcher import (
    BONUS_BOUNDARY_WHITE,
    BONUS_CAMEL123,
    BONUS_CONSECUTIVE,
    BONUS_FIRST_CHAR_MULTIPLIER,
    FILE_NAME_BONUS,
    PAIR_BONUS,
    PENALTY_GAP_EXTENSION,
    PENALTY_GAP_START,
    SCORE_MATCH,
    char_classes,
    first_bonus,
    score_value_at,
)

Window = tuple[int, bool, int, int, int, int]
"""(bound, base is exact, base, window's line start, match end, bonus): a candidate before its
exact score (`window`)."""


def rest_bound(size: int) -> int:
    """The best score a file outside the boundary tier can get: its name matches, but its
    window's first character follows a word character (a camelCase hump at best)."""
    return (
        FILE_NAME_BONUS
        + SCORE_MATCH * size
        + BONUS_BOUNDARY_WHITE * (size - 1)
        + BONUS_FIRST_CHAR_MULTIPLIER * BONUS_CAMEL123
    )


def window(
    haystack: str, classes: str, pattern: str, line_start: int, end: int, bonus: int
) -> Window:
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
    exact = size == 1 or (not gaps and first == BONUS_BOUNDARY_WHITE)
    if (
        not exact
        and not gaps
        and classes[pos] in _WORD_CLASSES
        and classes[pos + 1 : end + 1] == _LOWER_CLASS * (size - 1)
    ):
        # A word character, then lowercase letters: each later character's own bonus is 0, so
        # it gets the inherited first bonus (at least `BONUS_CONSECUTIVE`).
        exact = True
        bound = (
            SCORE_MATCH * size
            + BONUS_FIRST_CHAR_MULTIPLIER * first
            + max(first, BONUS_CONSECUTIVE) * (size - 1)
        )
    return bound + bonus, exact, bound, line_start, end, bonus


_WORD_CLASSES = frozenset(char_classes("aA0"))
"""Class digits (`char_classes`) of word characters: lowercase, uppercase, digit."""

_LOWER_CLASS = char_classes("a")
"""Class digit of a lowercase ASCII letter."""


def keep_windows(
    kept: list[tuple[int, int, int]],
    windows: Iterable[Window],
    limit: int,
    ceiling: int | None,
    haystack: str,
    classes: str,
    pattern: str,
    tighten: tuple[int, Callable[[], int]] | None = None,
) -> None:
    """Score `windows` into `kept` (a min-heap of (score, -line start, match end), at most
    `limit`: `letters.Kept`), skipping those whose bound cannot beat the worst kept. With a
    `ceiling` (no window scores above it), the windows come in path order and the scan stops
    once the worst kept scores at least the ceiling: every later window loses, on score or on
    path. `tighten` = (after, ceiling): after that many windows without that stop, a lower
    ceiling (costlier to find: worth it only for a long scan)."""
    for n, (bound, exact, base, line_start, end, bonus) in enumerate(windows):
        if tighten is not None and n == tighten[0]:
            ceiling = tighten[1]()
        if len(kept) == limit:
            if ceiling is not None and ceiling <= kept[0][0]:
                return
            if (bound, -line_start) < kept[0][:2]:
                continue
        value = base if exact else score_value_at(haystack, classes, pattern, line_start, end)
        offer(kept, (value + bonus, -line_start, end), limit)
