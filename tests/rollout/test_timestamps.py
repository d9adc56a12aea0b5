"""Rollout line timestamps → unix milliseconds (`envelope.parse_timestamp_ms`).

The parser remembers the last canonical second it parsed (a fold reads one timestamp per line);
these tests pin that the memo never changes an answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app_server.rollout.envelope import parse_timestamp_ms


def reference_ms(value: str) -> int | None:
    """What `datetime.fromisoformat` makes of it (naive read as UTC), in milliseconds."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


SEQUENCE = [
    "2026-11-24T18:57:46.216Z",
    "2026-11-24T18:57:46.217Z",
    "2026-11-24T18:57:46.999Z",
    "2026-11-24T18:57:47.000Z",
    "2026-11-24T18:57:47.5Z",
    "2026-11-24T18:57:47.123456Z",
    "2026-11-24T18:57:47.123+02:00",
    "2026-11-24T18:57:47.1\u0663\u0663Z",
    "2026-13-24T18:57:47.123Z",
    "2026-11-24T18:57:47.12aZ",
    "2026-11-24T18:57:47",
    "not a time",
    "2026-11-24T18:57:47.001Z",
    "2026-11-24T18:57:47.001Z",
    "not a time",
    "not a time",
    "2026-11-24T18:57:47",
]


def test_a_sequence_of_timestamps_parses_as_fromisoformat_would() -> None:
    assert [parse_timestamp_ms(value) for value in SEQUENCE] == [
        reference_ms(value) for value in SEQUENCE
    ]


@pytest.mark.parametrize("value", [None, "", 17, ["2026-11-24T18:57:46.216Z"]])
def test_a_missing_or_non_string_timestamp_is_none(value: object) -> None:
    assert parse_timestamp_ms(value) is None
