"""`PostgresThreadMarks`: read receipts, goals and metadata patches of the PostgreSQL store
(`read_receipts`, `goals`, `thread_metadata_patches`).

The same primitives as `memory_marks` and `local/thread_marks_db`, so the rules of
`store.thread_marks` apply unchanged. A receipt update is atomic across processes: the row is
created if missing, then locked (`SELECT … FOR UPDATE`) while the rule computes the new state,
so of two updates naming the same revision one wins and the other sees the new revision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import asyncpg
import orjson

from app_server.store.postgres.connect import unavailable_on_connection_loss
from app_server.store.thread_marks import (
    GoalRecord,
    MetadataPatch,
    ReadReceipt,
    initial_receipt,
)


class PostgresThreadMarks:
    """Receipts and goals in the store's database."""

    def __init__(self, pool: Callable[[], asyncpg.Pool], url: str) -> None:
        self._pool = pool
        self.url = url
        """The database (named by `StoreUnavailable` when it cannot be reached)."""

    @unavailable_on_connection_loss
    async def receipts(self, thread_ids: Iterable[str]) -> dict[str, ReadReceipt]:
        ids = list(thread_ids)
        rows = await self._pool().fetch(
            "SELECT thread_id, first_unread_turn, revision, last_published_turn"
            " FROM read_receipts WHERE thread_id = ANY($1::text[])",
            ids,
        )
        found = {row["thread_id"]: _receipt(row) for row in rows}
        return {i: found.get(i) or initial_receipt(i) for i in ids}

    @unavailable_on_connection_loss
    async def update_receipt(
        self, thread_id: str, change: Callable[[ReadReceipt], ReadReceipt]
    ) -> ReadReceipt:
        initial = initial_receipt(thread_id)
        async with self._pool().acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO read_receipts (thread_id, first_unread_turn, revision)"
                " VALUES ($1, NULL, $2) ON CONFLICT (thread_id) DO NOTHING",
                thread_id,
                initial.revision,
            )
            row = await connection.fetchrow(
                "SELECT thread_id, first_unread_turn, revision, last_published_turn"
                " FROM read_receipts WHERE thread_id = $1 FOR UPDATE",
                thread_id,
            )
            assert row is not None
            updated = change(_receipt(row))
            await connection.execute(
                "UPDATE read_receipts SET first_unread_turn = $2, revision = $3,"
                " last_published_turn = $4 WHERE thread_id = $1",
                thread_id,
                updated.first_unread_turn,
                updated.revision,
                updated.last_published_turn,
            )
        return updated

    @unavailable_on_connection_loss
    async def goal(self, thread_id: str) -> GoalRecord | None:
        row = await self._pool().fetchrow(
            "SELECT thread_id, goal_id, objective, status, token_budget, tokens_used,"
            " time_used_seconds, created_at_ms, updated_at_ms FROM goals WHERE thread_id = $1",
            thread_id,
        )
        return None if row is None else GoalRecord(**dict(row.items()))

    @unavailable_on_connection_loss
    async def put_goal(self, goal: GoalRecord) -> None:
        await self._pool().execute(
            "INSERT INTO goals (thread_id, goal_id, objective, status, token_budget, tokens_used,"
            " time_used_seconds, created_at_ms, updated_at_ms)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (thread_id) DO UPDATE SET"
            " goal_id = EXCLUDED.goal_id, objective = EXCLUDED.objective,"
            " status = EXCLUDED.status, token_budget = EXCLUDED.token_budget,"
            " tokens_used = EXCLUDED.tokens_used, time_used_seconds = EXCLUDED.time_used_seconds,"
            " created_at_ms = EXCLUDED.created_at_ms, updated_at_ms = EXCLUDED.updated_at_ms",
            goal.thread_id,
            goal.goal_id,
            goal.objective,
            goal.status,
            goal.token_budget,
            goal.tokens_used,
            goal.time_used_seconds,
            goal.created_at_ms,
            goal.updated_at_ms,
        )

    @unavailable_on_connection_loss
    async def clear_goal(self, thread_id: str) -> bool:
        result = await self._pool().execute("DELETE FROM goals WHERE thread_id = $1", thread_id)
        return result != "DELETE 0"

    @unavailable_on_connection_loss
    async def metadata_patches(self, thread_ids: Iterable[str]) -> dict[str, MetadataPatch]:
        rows = await self._pool().fetch(
            "SELECT thread_id, git, daybreak_enabled FROM thread_metadata_patches"
            " WHERE thread_id = ANY($1::text[])",
            list(thread_ids),
        )
        return {row["thread_id"]: _patch(row["git"], row["daybreak_enabled"]) for row in rows}

    @unavailable_on_connection_loss
    async def patch_metadata(self, thread_id: str, patch: MetadataPatch) -> MetadataPatch:
        """Apply `patch` over the stored one under a row lock (two processes patching the
        same thread both land, in some order); returns the result."""
        async with self._pool().acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO thread_metadata_patches (thread_id, git) VALUES ($1, '{}')"
                " ON CONFLICT (thread_id) DO NOTHING",
                thread_id,
            )
            row = await connection.fetchrow(
                "SELECT git, daybreak_enabled FROM thread_metadata_patches"
                " WHERE thread_id = $1 FOR UPDATE",
                thread_id,
            )
            assert row is not None
            updated = _patch(row["git"], row["daybreak_enabled"]).then(patch)
            await connection.execute(
                "UPDATE thread_metadata_patches SET git = $2, daybreak_enabled = $3"
                " WHERE thread_id = $1",
                thread_id,
                orjson.dumps(dict(updated.git)).decode(),
                updated.daybreak_enabled,
            )
        return updated


def _patch(git: str, daybreak_enabled: bool | None) -> MetadataPatch:
    values = orjson.loads(git)
    return MetadataPatch(
        git={k: v for k, v in values.items() if isinstance(v, str | None)},
        daybreak_enabled=daybreak_enabled,
    )


def _receipt(row: asyncpg.Record) -> ReadReceipt:
    return ReadReceipt(
        row["thread_id"], row["first_unread_turn"], row["revision"], row["last_published_turn"]
    )
