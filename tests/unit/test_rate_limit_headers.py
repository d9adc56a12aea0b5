"""Rate-limit headers are read as codex reads them (`app_server.agent.rate_limits`)."""

from __future__ import annotations

from app_server.agent.rate_limits import RateLimitBoard, parse_rate_limits


def test_headers_without_rate_limits_give_nothing() -> None:
    assert parse_rate_limits({"x-request-id": "r1"}) == {}


def test_zero_percent_without_window_or_reset_is_no_window() -> None:
    assert parse_rate_limits({"x-codex-primary-used-percent": "0"}) == {}


def test_other_limit_families_are_keyed_by_their_id() -> None:
    snapshots = parse_rate_limits({"x-codex-other-primary-used-percent": "80"})
    assert list(snapshots) == ["codex_other"]
    primary = snapshots["codex_other"].primary
    assert primary is not None
    assert primary.used_percent == 80


def test_half_percent_rounds_away_from_zero_as_rust_does() -> None:
    snapshot = parse_rate_limits({"x-codex-primary-used-percent": "12.5"})["codex"]
    assert snapshot.primary is not None
    assert snapshot.primary.used_percent == 13


def test_unparsable_numbers_are_ignored() -> None:
    headers = {
        "x-codex-primary-used-percent": "nan",
        "x-codex-secondary-used-percent": "5",
        "x-codex-secondary-window-minutes": "9" * 40,
    }
    snapshot = parse_rate_limits(headers)["codex"]
    assert snapshot.primary is None
    assert snapshot.secondary is not None
    assert snapshot.secondary.window_duration_mins is None


def test_a_response_without_rate_limits_keeps_the_previous_ones() -> None:
    board = RateLimitBoard()
    board.record({"x-codex-primary-used-percent": "50"})
    board.record({"x-request-id": "r2"})
    assert list(board.latest) == ["codex"]
