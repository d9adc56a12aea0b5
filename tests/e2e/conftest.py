"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.postgres_servers import store_url_in_fresh_schema


@pytest.fixture
async def store_url() -> AsyncIterator[str]:
    """A PostgreSQL store URL whose tables live in a fresh schema of their own (the test is
    skipped without a test cluster, `tests/support/postgres.py`)."""
    async with store_url_in_fresh_schema() as url:
        yield url
