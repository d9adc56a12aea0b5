"""Retries of a failed sampling attempt, and the backoff between them (AGENT_LOOP.md §8.1).

A provider says which budget may retry a failure (`request_max_retries` for a request that
failed, `stream_max_retries` for a stream that broke off); each retry is announced to clients
before the backoff, and the error that exhausts a budget is re-raised for the turn to fail with.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app_server.agent.providers.base import ModelProvider, ProviderError

T = TypeVar("T")

RetryAnnouncer = Callable[[ProviderError, int, int], None]
"""Told `(error, retry number, budget)` before each retry."""

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


async def with_retries(
    provider: ModelProvider, attempt: Callable[[], Awaitable[T]], announce: RetryAnnouncer
) -> T:
    """`attempt()`, retried as the provider's budgets allow; the final error is re-raised."""
    attempts = {"request": 0, "stream": 0}
    budgets = {"request": provider.request_max_retries, "stream": provider.stream_max_retries}
    while True:
        try:
            return await attempt()
        except ProviderError as error:
            if error.retry == "none" or attempts[error.retry] >= budgets[error.retry]:
                raise
            attempts[error.retry] += 1
            number = attempts[error.retry]
            announce(error, number, budgets[error.retry])
            await asyncio.sleep(backoff_seconds(number, error.retry_after_seconds))
