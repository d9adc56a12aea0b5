"""Fuzzy matching and ranking of paths, in the manner of codex's matcher (nucleo, an fzf
derivative): the query's characters must appear in order in the path; a match scores 16 per
character, plus bonuses where a character starts a word (after `/`, space, `_`, `-`, `.`; the
path's start counts as after a `/`), a camelCase hump or a digit run, and for consecutive
characters; gaps cost 3 to open and 1 per further character; case is ignored. On top, as
codex 0.169 ranks (observed): a file whose name matches is scored on its name, plus
`FILE_NAME_BONUS`; a directory named as the query gets `DIRECTORY_NAME_BONUS`. Results sort
by score, best first, then by path.

Codex aligns optimally (nucleo's dynamic programming); this takes the leftmost match shrunk to
its shortest window (fzf's v1), which gives codex's score whenever that window is the best one
(a test compares with scores the binary gave).

Speed: candidates are first filtered by one regular expression over the whole index (C speed),
then only those that match are scored (fzf's v1 pass: the leftmost match, shrunk from the right
to its shortest window, scored in one sweep).
"""

from __future__ import annotations

import re
import string

from msgspec import Struct

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

FILE_NAME_BONUS = 1 << 16
"""Added to a file's score when the whole match lies in its name (after the last `/`)."""

DIRECTORY_NAME_BONUS = 2 << 16
"""Added to a directory's score when its name is the query."""

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


class Query(Struct, frozen=True):
    """A parsed query: its characters (lowercased unless case-sensitive) and the prefilter."""

    text: str
    chars: str
    case_sensitive: bool
    prefilter: re.Pattern[str]
    boundary: re.Pattern[str]
    """Finds the lines (file names) holding the query's characters in order starting at a word
    boundary: a superset of the names whose scored window starts with a bonus of at least
    `BONUS_BOUNDARY` (see `boundary_prefilter`)."""


def parse_query(text: str) -> Query:
    """Spaces are ignored (codex's matcher treats them as separators of one fuzzy pattern); case
    is ignored, as codex does (`MAIN` ranks `main.py` as `main` does)."""
    chars = "".join(text.split())
    case_sensitive = False
    needle = chars.lower()
    return Query(
        text=text,
        chars=needle,
        case_sensitive=case_sensitive,
        prefilter=_prefilter(needle),
        boundary=boundary_prefilter(needle),
    )


def _prefilter(needle: str) -> re.Pattern[str]:
    """Finds, in newline-separated paths, the lines holding `needle`'s characters in order: the
    earliest such occurrence (each gap a negated class, so the engine never backtracks), then
    the rest of the line, so that each matching line is found once and its earliest match end
    is `group(1)`'s end."""
    if not needle:
        return re.compile("(?!)")
    parts = [re.escape(needle[0])]
    for ch in needle[1:]:
        parts.append(f"[^{_in_class(ch)}\n]*{re.escape(ch)}")
    return re.compile(f"({''.join(parts)})[^\n]*")


def boundary_prefilter(needle: str) -> re.Pattern[str]:
    """As `_prefilter`, but the first character must stand where a word starts: after a
    character that is not an ASCII letter or digit (or at the line's start). A window whose
    first character gets at least `BONUS_BOUNDARY` starts so (a word character after a
    delimiter, space or other non-word character); so does any window starting with a non-word
    character, hence no condition then. Only a superset is needed: every line found is scored
    exactly afterwards."""
    if not needle:
        return re.compile("(?!)")
    first = re.escape(needle[0])
    # The guard follows the literal (a fixed-width lookbehind over both), so that the engine
    # still scans for the literal at C speed.
    guard = f"(?<![a-zA-Z0-9]{first})" if needle[0] in _ASCII_WORD else ""
    parts = [first + guard]
    for ch in needle[1:]:
        parts.append(f"[^{_in_class(ch)}\n]*+{re.escape(ch)}")
    return re.compile(f"{''.join(parts)}[^\n]*")


_ASCII_WORD = frozenset(string.ascii_letters + string.digits)
"""Query characters that are word characters (`_char_class` LOWER, UPPER or NUMBER) in any
case (a non-ASCII one gets no guard: a superset)."""


def _in_class(ch: str) -> str:
    return "\\" + ch if ch in "]\\^-[" else ch


_BONUS = [[_bonus(prev, cur) for cur in range(6)] for prev in range(6)]
"""`_bonus` for every (previous class, class) pair."""

_CLASS_TABLE = {code: str(_char_class(chr(code))) for code in range(128)}


def char_classes(text: str) -> str:
    """`text` with each ASCII character replaced by its class digit (one C pass); other
    characters are kept and classified when scored."""
    return text.translate(_CLASS_TABLE)


PAIR_BONUS = {f"{prev}{cur}": _BONUS[prev][cur] for prev in range(6) for cur in range(6)}
"""`_bonus` keyed by the two class digits of the joined class string (ASCII characters)."""


def first_bonus(classes: str, line_start: int, pos: int) -> int:
    """The bonus of the character at `pos` (absolute) of the joined class string, on the line
    starting at `line_start` (the line's start counts as after a space)."""
    prev = _class_at(classes, pos - 1) if pos > line_start else _DELIMITER
    return _BONUS[prev][_class_at(classes, pos)]


def _class_at(classes: str, i: int) -> int:
    code = classes[i]
    return int(code) if "0" <= code <= "5" else _char_class(code)


def score_at(
    original: str, haystack: str, classes: str, pattern: str, line_start: int, end: int
) -> tuple[int, list[int]]:
    """Score the match of `pattern` that ends earliest at `end` (absolute) on the line starting
    at `line_start` of the joined texts: shrink it from the right to its shortest window (fzf
    v1), then sweep the window. Indices are relative to the line."""
    pos = end + 1
    for ch in reversed(pattern):
        pos = haystack.rfind(ch, line_start, pos)
    start = pos
    total = 0
    pidx = 0
    consecutive = 0
    first_bonus = 0
    in_gap = False
    indices: list[int] = []
    prev_class = _class_at(classes, start - 1) if start > line_start else _DELIMITER
    size = len(pattern)
    for i in range(start, end + 1):
        cls = _class_at(classes, i)
        if pidx < size and haystack[i] == pattern[pidx]:
            bonus = _BONUS[prev_class][cls]
            if consecutive == 0:
                first_bonus = bonus
            else:
                if bonus >= BONUS_BOUNDARY and bonus > first_bonus:
                    first_bonus = bonus
                bonus = max(bonus, first_bonus, BONUS_CONSECUTIVE)
            total += SCORE_MATCH + (bonus * BONUS_FIRST_CHAR_MULTIPLIER if pidx == 0 else bonus)
            indices.append(i - line_start)
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


def score_value_at(haystack: str, classes: str, pattern: str, line_start: int, end: int) -> int:
    """`score_at` without the indices: the hot path, run for every candidate (no allocation)."""
    pos = end + 1
    for ch in reversed(pattern):
        pos = haystack.rfind(ch, line_start, pos)
    total = 0
    pidx = 0
    consecutive = 0
    first_bonus = 0
    in_gap = False
    prev_class = _class_at(classes, pos - 1) if pos > line_start else _DELIMITER
    size = len(pattern)
    bonuses = _BONUS
    for i in range(pos, end + 1):
        code = classes[i]
        cls = int(code) if "0" <= code <= "5" else _char_class(code)
        if pidx < size and haystack[i] == pattern[pidx]:
            bonus = bonuses[prev_class][cls]
            if consecutive == 0:
                first_bonus = bonus
            else:
                if bonus >= BONUS_BOUNDARY and bonus > first_bonus:
                    first_bonus = bonus
                bonus = max(bonus, first_bonus, BONUS_CONSECUTIVE)
            total += SCORE_MATCH + (bonus * BONUS_FIRST_CHAR_MULTIPLIER if pidx == 0 else bonus)
            in_gap = False
            consecutive += 1
            pidx += 1
        else:
            total -= PENALTY_GAP_EXTENSION if in_gap else PENALTY_GAP_START
            in_gap = True
            consecutive = 0
            first_bonus = 0
        prev_class = cls
    return max(total, 0)


def score(path: str, query: Query, *, is_directory: bool = False) -> tuple[int, list[int]] | None:
    """The path's score for the query and the matched character indices, or None (one path;
    the index scores many at once). A file whose name matches is scored on its name, plus
    `FILE_NAME_BONUS`; a directory named as the query gets `DIRECTORY_NAME_BONUS`."""
    haystack = path if query.case_sensitive else path.lower()
    found = query.prefilter.search(haystack)
    if found is None:
        return None
    end = found.end(1) - 1
    name_start = path.rfind("/") + 1
    bonus = 0
    if is_directory:
        if haystack[name_start:] == query.chars:
            bonus = DIRECTORY_NAME_BONUS
    elif (in_name := query.prefilter.search(haystack, name_start)) is not None:
        bonus = FILE_NAME_BONUS
        end = in_name.end(1) - 1
    value, indices = score_at(path, haystack, char_classes(path), query.chars, 0, end)
    return value + bonus, indices
