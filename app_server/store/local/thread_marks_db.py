"""Read receipts and goals in our index (`thread_read_receipts`, `thread_goals`).

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
from app_server.store.thread_marks import GoalRecord, ReadReceipt, initial_receipt

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
