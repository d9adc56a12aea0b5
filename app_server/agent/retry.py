"""Backoff between retries of a failed sampling attempt (AGENT_LOOP.md §8.1)."""

from __future__ import annotations

import random

INITIAL_BACKOFF_SECONDS = 0.2
BACKOFF_FACTOR = 2.0
MAX_BACKOFF_SECONDS = 10.0
"""Exponential backoff with jitter, 200 ms doubling up to 10 s: a flaky endpoint gets breathing
room without a turn stalling for minutes."""


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Delay before retry number `attempt` (1-based); a server's `retry-after` wins if longer."""
    delay = min(MAX_BACKOFF_SECONDS, INITIAL_BACKOFF_SECONDS * BACKOFF_FACTOR ** (attempt - 1))
    delay *= random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, 60.0))
    return delay
