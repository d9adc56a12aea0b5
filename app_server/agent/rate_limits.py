"""Rate limits a model server reports in its response headers, as codex reads them.

Codex's backend sends `x-codex-primary-used-percent`, `x-codex-primary-window-minutes`,
`x-codex-primary-reset-at` (and `secondary-…`), credits (`x-codex-credits-has-credits`,
`-unlimited`, `-balance`), and further limit families under other prefixes
(`x-codex-other-primary-used-percent` is the `codex_other` limit). A window counts only when it
says something (a non-zero percentage or window, or a reset time), as in codex. The latest
snapshot seen on any model response is what `account/rateLimits/read` answers: there is no
account backend to ask, the headers are the local truth.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from protocol.types import CreditsSnapshot, RateLimitSnapshot, RateLimitWindow

DEFAULT_LIMIT_ID = "codex"
INT32_LIMIT = 2**31 - 1
"""`usedPercent` is an int32 on the wire; a wild header value is clamped to it."""
PRIMARY_SUFFIX = "-primary-used-percent"


def parse_rate_limits(headers: Mapping[str, str]) -> dict[str, RateLimitSnapshot]:
    """Every limit family the (lower-case) headers describe, by limit id; empty when none
    carries data."""
    families = {DEFAULT_LIMIT_ID}
    for name in headers:
        if name.startswith("x-") and name.endswith(PRIMARY_SUFFIX):
            families.add(_limit_id(name[2 : -len(PRIMARY_SUFFIX)]))
    snapshots = {}
    for limit_id in sorted(families):
        snapshot = _snapshot(headers, limit_id)
        if snapshot.primary or snapshot.secondary or snapshot.credits:
            snapshots[limit_id] = snapshot
    return snapshots


def _limit_id(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _snapshot(headers: Mapping[str, str], limit_id: str) -> RateLimitSnapshot:
    prefix = "x-" + limit_id.replace("_", "-")
    name = (headers.get(f"{prefix}-limit-name") or "").strip() or None
    return RateLimitSnapshot(
        limit_id=limit_id,
        limit_name=name,
        primary=_window(headers, f"{prefix}-primary"),
        secondary=_window(headers, f"{prefix}-secondary"),
        credits=_credits(headers) if limit_id == DEFAULT_LIMIT_ID else None,
    )


def _window(headers: Mapping[str, str], prefix: str) -> RateLimitWindow | None:
    used = _number(headers.get(f"{prefix}-used-percent"))
    if used is None:
        return None
    minutes = _integer(headers.get(f"{prefix}-window-minutes"))
    resets_at = _integer(headers.get(f"{prefix}-reset-at"))
    if used == 0 and not minutes and resets_at is None:
        return None
    return RateLimitWindow(
        used_percent=max(-INT32_LIMIT, min(_rounded(used), INT32_LIMIT)),
        window_duration_mins=minutes,
        resets_at=resets_at,
    )


def _rounded(value: float) -> int:
    """Half away from zero, as Rust's `f64::round` (Python's `round` goes to even)."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _credits(headers: Mapping[str, str]) -> CreditsSnapshot | None:
    has_credits = _flag(headers.get("x-codex-credits-has-credits"))
    unlimited = _flag(headers.get("x-codex-credits-unlimited"))
    if has_credits is None or unlimited is None:
        return None
    balance = (headers.get("x-codex-credits-balance") or "").strip() or None
    return CreditsSnapshot(has_credits=has_credits, unlimited=unlimited, balance=balance)


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _integer(text: str | None) -> int | None:
    """A decimal integer that fits the wire's int64 (anything else is ignored, as codex's
    `parse::<i64>` does)."""
    digits = (text or "").strip()
    if not digits.lstrip("-").isascii() or not digits.lstrip("-").isdigit() or len(digits) > 20:
        return None
    value = int(digits)
    return value if -(2**63) <= value < 2**63 else None


def _flag(text: str | None) -> bool | None:
    lowered = (text or "").strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    return None


class RateLimitBoard:
    """The latest rate limits seen on any model response of this server (one per process)."""

    def __init__(self) -> None:
        self.latest: dict[str, RateLimitSnapshot] = {}
        """By limit id; empty until a response carried rate-limit headers."""

    def record(self, headers: Mapping[str, str]) -> None:
        """Remember what a response's headers say; responses without rate limits change
        nothing (a provider that never sends them leaves the board empty)."""
        snapshots = parse_rate_limits(headers)
        if snapshots:
            self.latest = snapshots
