"""The `--older-than` grammar and how ages are shown.

A deliberately small grammar, so a typo can never select far more than meant: a positive whole
number followed by one unit letter, `h` (hours), `d` (days) or `w` (weeks): `36h`, `90d`, `12w`.
Months and years are refused (their length is ambiguous), as are fractions, signs, spaces,
zero and combinations like `1w2d`.
"""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION_RE = re.compile(r"\A([1-9][0-9]{0,6})([hdw])\Z")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}

DURATION_HELP = "<n>h, <n>d or <n>w (hours, days, weeks), e.g. 90d"


class InvalidDuration(ValueError):
    """`--older-than` is not `<n>h`, `<n>d` or `<n>w`; the message says what is accepted."""


def parse_duration(text: str) -> timedelta:
    """`90d` → 90 days. Raises `InvalidDuration` for anything outside the grammar."""
    match = _DURATION_RE.match(text)
    if match is None:
        raise InvalidDuration(f"invalid duration {text!r}: use {DURATION_HELP}")
    return int(match[1]) * _UNITS[match[2]]


def format_age(seconds: float) -> str:
    """A compact age for tables: `45m`, `5h`, `12d` (whole units, rounded down)."""
    if seconds < 3600:
        return f"{max(0, int(seconds // 60))}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"
