"""The `storage prune --older-than` grammar: `<n>h`, `<n>d`, `<n>w` and nothing else."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app_server.storage_admin.durations import InvalidDuration, format_age, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("36h", timedelta(hours=36)),
        ("90d", timedelta(days=90)),
        ("12w", timedelta(weeks=12)),
        ("1d", timedelta(days=1)),
    ],
)
def test_hours_days_and_weeks_are_accepted(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "90", "d", "0d", "-1d", "+1d", "1.5d", "6m", "1y", "1w2d", "90D", " 90d", "90 d"]
)
def test_anything_else_is_refused_naming_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidDuration, match=r"use <n>h, <n>d or <n>w"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "shown"), [(59, "0m"), (600, "10m"), (7200, "2h"), (86400 * 3 + 5, "3d")]
)
def test_ages_are_shown_in_whole_units(seconds: float, shown: str) -> None:
    assert format_age(seconds) == shown
