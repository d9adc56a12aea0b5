"""Fuzzy matching and ranking of paths, in the manner of codex's matcher (nucleo, an fzf
derivative): the query's characters must appear in order in the path; a match scores 16 per
character, plus bonuses where a character starts a word (after `/`, space, `_`, `-`, `.`), a
camelCase hump or a digit run, and for consecutive characters; gaps cost 3 to open and 1 per
further character. Smart case: a query with an uppercase letter matches case-sensitively.
Results sort by score, best first, then by path.

Speed: candidates are first filtered by one regular expression over the whole index (C speed),
then only those that match are scored (fzf's v1 pass: the leftmost match, shrunk from the right
to its shortest window, scored in one sweep).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCORE_MATCH = 16
PENALTY_GAP_START = 3
PENALTY_GAP_EXTENSION = 1
BONUS_BOUNDARY = SCORE_MATCH // 2
BONUS_BOUNDARY_WHITE = BONUS_BOUNDARY + 2
BONUS_BOUNDARY_DELIMITER = BONUS_BOUNDARY + 1
BONUS_NON_WORD = SCORE_MATCH // 2
BONUS_CAMEL123 = BONUS_BOUNDARY - PENALTY_GAP_START
BONUS_CONSECUTIVE = PENALTY_GAP_START + PENALTY_GAP_EXTENSION
BONUS_FIRST_CHAR_MULTIPLIER = 2

_WHITE, _NON_WORD, _DELIMITER, _LOWER, _UPPER, _NUMBER = range(6)


def _char_class(ch: str) -> int:
    if ch.islower():
        return _LOWER
    if ch.isupper():
        return _UPPER
    if ch.isdigit():
        return _NUMBER
    if ch.isspace():
        return _WHITE
    if ch == "/":
        return _DELIMITER
    return _NON_WORD


def _bonus(prev: int, cur: int) -> int:
    if cur > _NON_WORD:  # a word character
        if prev == _WHITE:
            return BONUS_BOUNDARY_WHITE
        if prev == _DELIMITER:
            return BONUS_BOUNDARY_DELIMITER
        if prev == _NON_WORD:
            return BONUS_BOUNDARY
    if (prev == _LOWER and cur == _UPPER) or (prev != _NUMBER and cur == _NUMBER):
        return BONUS_CAMEL123
    if cur in (_NON_WORD, _DELIMITER):
        return BONUS_NON_WORD
    if cur == _WHITE:
        return BONUS_BOUNDARY_WHITE
    return 0


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: its characters (lowercased unless case-sensitive) and the prefilter."""

    text: str
    chars: str
    case_sensitive: bool
    prefilter: re.Pattern[str]


def parse_query(text: str) -> Query:
    """Spaces are ignored (codex's matcher treats them as separators of one fuzzy pattern)."""
    chars = "".join(text.split())
    case_sensitive = any(c.isupper() for c in chars)
    needle = chars if case_sensitive else chars.lower()
    gap = "[^\n]*?"
    body = gap.join(re.escape(c) for c in needle)
    pattern = re.compile(f"^[^\n]*?{body}[^\n]*$", re.MULTILINE)
    return Query(text=text, chars=needle, case_sensitive=case_sensitive, prefilter=pattern)


def score(path: str, query: Query) -> tuple[int, list[int]] | None:
    """The path's score for the query and the matched character indices, or None."""
    text = path if query.case_sensitive else path.lower()
    pattern = query.chars
    if not pattern:
        return None
    # Forward: leftmost end of an in-order match.
    pidx = 0
    end = -1
    for i, ch in enumerate(text):
        if ch == pattern[pidx]:
            pidx += 1
            if pidx == len(pattern):
                end = i
                break
    if end < 0:
        return None
    # Backward: the latest start of a match ending there (the shortest window).
    pidx = len(pattern) - 1
    start = end
    for i in range(end, -1, -1):
        if text[i] == pattern[pidx]:
            pidx -= 1
            if pidx < 0:
                start = i
                break
    return _window_score(path, text, pattern, start, end)


def _window_score(
    original: str, text: str, pattern: str, start: int, end: int
) -> tuple[int, list[int]]:
    total = 0
    pidx = 0
    consecutive = 0
    first_bonus = 0
    in_gap = False
    indices: list[int] = []
    prev_class = _char_class(original[start - 1]) if start > 0 else _WHITE
    for i in range(start, end + 1):
        cls = _char_class(original[i])
        if pidx < len(pattern) and text[i] == pattern[pidx]:
            total += SCORE_MATCH
            bonus = _bonus(prev_class, cls)
            if consecutive == 0:
                first_bonus = bonus
            else:
                if bonus >= BONUS_BOUNDARY and bonus > first_bonus:
                    first_bonus = bonus
                bonus = max(bonus, first_bonus, BONUS_CONSECUTIVE)
            total += bonus * BONUS_FIRST_CHAR_MULTIPLIER if pidx == 0 else bonus
            indices.append(i)
            in_gap = False
            consecutive += 1
            pidx += 1
        else:
            total -= PENALTY_GAP_EXTENSION if in_gap else PENALTY_GAP_START
            in_gap = True
            consecutive = 0
            first_bonus = 0
        prev_class = cls
    return max(total, 0), indices
