"""`MemoryThreadMarks`: receipts, goals and metadata patches of the `MemoryThreadStore`.

The in-memory counterpart of `store.local.thread_marks_db`, with the same primitives, so both
stores apply the rules of `store.thread_marks` the same way. Updates run without an `await`
between reading and writing, so they are atomic on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from app_server.store.thread_marks import (
    GoalRecord,
    MetadataPatch,
    ReadReceipt,
    initial_receipt,
)


class MemoryThreadMarks:
    """Receipts and goals by thread id."""

    def __init__(self) -> None:
        self._receipts: dict[str, ReadReceipt] = {}
        self._goals: dict[str, GoalRecord] = {}
        self._patches: dict[str, MetadataPatch] = {}

    async def receipts(self, thread_ids: Iterable[str]) -> dict[str, ReadReceipt]:
        return {i: self._receipts.get(i) or initial_receipt(i) for i in thread_ids}

    async def update_receipt(
        self, thread_id: str, change: Callable[[ReadReceipt], ReadReceipt]
    ) -> ReadReceipt:
        updated = change(self._receipts.get(thread_id) or initial_receipt(thread_id))
        self._receipts[thread_id] = updated
        return updated

    async def goal(self, thread_id: str) -> GoalRecord | None:
        return self._goals.get(thread_id)

    async def put_goal(self, goal: GoalRecord) -> None:
        self._goals[goal.thread_id] = goal

    async def clear_goal(self, thread_id: str) -> bool:
        return self._goals.pop(thread_id, None) is not None

    async def metadata_patches(self, thread_ids: Iterable[str]) -> dict[str, MetadataPatch]:
        return {i: self._patches[i] for i in thread_ids if i in self._patches}

    async def patch_metadata(self, thread_id: str, patch: MetadataPatch) -> MetadataPatch:
        updated = self._patches.get(thread_id, MetadataPatch()).then(patch)
        self._patches[thread_id] = updated
        return updated

    def forget(self, thread_id: str) -> None:
        """Drop a deleted thread's marks."""
        self._receipts.pop(thread_id, None)
        self._goals.pop(thread_id, None)
        self._patches.pop(thread_id, None)
