"""Candidates before their exact score: a match's window (the earliest match end, shrunk from
the right) and an upper bound on its score, exact where it can be told without scoring, so that
the index scores exactly only the candidates whose bound can still reach the results."""

from __future__ import annotations

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
