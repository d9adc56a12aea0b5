"""Read receipts, goals and metadata patches in our index (`thread_read_receipts`,
`thread_goals`, `thread_metadata_patches`).

Why in the index: they are small per-thread rows that clients edit, and the index is the
SQLite file we already own (codex keeps the same facts in its own databases: receipts in
`state_5.sqlite` with the same columns, goals in `goals_1.sqlite`). Unlike the rest of the
index they cannot be rebuilt from the rollouts: a damaged index that is quarantined and rebuilt
loses them, as deleting codex's databases would (README, compatibility).

A read-modify-write of a receipt runs in one `BEGIN IMMEDIATE` transaction, so two clients
marking the same thread with the same revision cannot both succeed (the second sees the first's
revision and gets `ReadStateConflict`), in this process or another one sharing the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import orjson

from app_server.store.local.index_db import ThreadIndex
from app_server.store.thread_marks import (
    GoalRecord,
    MetadataPatch,
    ReadReceipt,
    initial_receipt,
)

_RECEIPT_COLUMNS = "thread_id, first_unread_turn, revision, last_published_turn"
_GOAL_COLUMNS = (
    "thread_id, goal_id, objective, status, token_budget, tokens_used, time_used_seconds,"
    " created_at_ms, updated_at_ms"
)


class IndexThreadMarks:
    """Receipts and goals of one open index."""

    def __init__(self, index: Callable[[], ThreadIndex]) -> None:
        self._index = index

    async def receipts(self, thread_ids: Iterable[str]) -> dict[str, ReadReceipt]:
        ids = list(thread_ids)
        rows = await self._index().fetchall(
            f"SELECT {_RECEIPT_COLUMNS} FROM thread_read_receipts"
            " WHERE thread_id IN (SELECT value FROM json_each(?))",
            (orjson.dumps(ids).decode(),),
        )
        found = {row[0]: ReadReceipt(*row) for row in rows}
        return {i: found.get(i) or initial_receipt(i) for i in ids}

    async def update_receipt(
        self, thread_id: str, change: Callable[[ReadReceipt], ReadReceipt]
    ) -> ReadReceipt:
        """Apply `change` to the current receipt and store the result, atomically; an exception
        from `change` leaves the receipt as it was."""
        async with self._index().transaction() as db:
            rows = list(
                await db.execute_fetchall(
                    f"SELECT {_RECEIPT_COLUMNS} FROM thread_read_receipts WHERE thread_id = ?",
                    (thread_id,),
                )
            )
            current = ReadReceipt(*rows[0]) if rows else initial_receipt(thread_id)
            updated = change(current)
            await db.execute(
                f"INSERT OR REPLACE INTO thread_read_receipts ({_RECEIPT_COLUMNS})"
                " VALUES (?, ?, ?, ?)",
                (
                    thread_id,
                    updated.first_unread_turn,
                    updated.revision,
                    updated.last_published_turn,
                ),
            )
        return updated

    async def goal(self, thread_id: str) -> GoalRecord | None:
        rows = await self._index().fetchall(
            f"SELECT {_GOAL_COLUMNS} FROM thread_goals WHERE thread_id = ?", (thread_id,)
        )
        return GoalRecord(*rows[0]) if rows else None

    async def put_goal(self, goal: GoalRecord) -> None:
        async with self._index().transaction() as db:
            await db.execute(
                f"INSERT OR REPLACE INTO thread_goals ({_GOAL_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    goal.thread_id,
                    goal.goal_id,
                    goal.objective,
                    goal.status,
                    goal.token_budget,
                    goal.tokens_used,
                    goal.time_used_seconds,
                    goal.created_at_ms,
                    goal.updated_at_ms,
                ),
            )

    async def clear_goal(self, thread_id: str) -> bool:
        async with (
            self._index().transaction() as db,
            db.execute("DELETE FROM thread_goals WHERE thread_id = ?", (thread_id,)) as cursor,
        ):
            return cursor.rowcount > 0

    async def metadata_patches(self, thread_ids: Iterable[str]) -> dict[str, MetadataPatch]:
        rows = await self._index().fetchall(
            "SELECT thread_id, git, daybreak_enabled FROM thread_metadata_patches"
            " WHERE thread_id IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(thread_ids)).decode(),),
        )
        return {row[0]: _patch_of(row[1], row[2]) for row in rows}

    async def patch_metadata(self, thread_id: str, patch: MetadataPatch) -> MetadataPatch:
        """Apply `patch` over the stored one in one transaction; returns the result."""
        async with self._index().transaction() as db:
            rows = list(
                await db.execute_fetchall(
                    "SELECT git, daybreak_enabled FROM thread_metadata_patches WHERE thread_id = ?",
                    (thread_id,),
                )
            )
            current = _patch_of(rows[0][0], rows[0][1]) if rows else MetadataPatch()
            updated = current.then(patch)
            daybreak = updated.daybreak_enabled
            await db.execute(
                "INSERT OR REPLACE INTO thread_metadata_patches (thread_id, git, daybreak_enabled)"
                " VALUES (?, ?, ?)",
                (
                    thread_id,
                    orjson.dumps(dict(updated.git)).decode(),
                    None if daybreak is None else int(daybreak),
                ),
            )
        return updated


def _patch_of(git: str, daybreak_enabled: int | None) -> MetadataPatch:
    values = orjson.loads(git)
    return MetadataPatch(
        git={k: v for k, v in values.items() if isinstance(v, str | None)},
        daybreak_enabled=None if daybreak_enabled is None else bool(daybreak_enabled),
    )
