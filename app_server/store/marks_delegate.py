"""`ThreadMarksMixin`: the mark methods of the `ThreadStore` contract, written once for both
stores over a marks backend (`MemoryThreadMarks`, `IndexThreadMarks`).

Why a mixin: the rules (`store.thread_marks`) and the "is it stored" checks are the same for
both stores; only where the rows live differs. A store provides `_marks` and `get`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from app_server.store.errors import ThreadNotStored
from app_server.store.records import ThreadRecord
from app_server.store.thread_marks import (
    GoalRecord,
    MetadataPatch,
    ReadMark,
    ReadReceipt,
    after_mark,
    after_turn_completed,
)


class MarksBackend(Protocol):
    """Where a store keeps its marks (row-level primitives)."""

    async def receipts(self, thread_ids: Iterable[str]) -> dict[str, ReadReceipt]: ...

    async def update_receipt(
        self, thread_id: str, change: Callable[[ReadReceipt], ReadReceipt]
    ) -> ReadReceipt: ...

    async def goal(self, thread_id: str) -> GoalRecord | None: ...

    async def put_goal(self, goal: GoalRecord) -> None: ...

    async def clear_goal(self, thread_id: str) -> bool: ...

    async def metadata_patches(self, thread_ids: Iterable[str]) -> dict[str, MetadataPatch]: ...

    async def patch_metadata(self, thread_id: str, patch: MetadataPatch) -> MetadataPatch: ...


class ThreadMarksMixin:
    """The marks part of the `ThreadStore` contract (see `store.interface`)."""

    @property
    def _marks(self) -> MarksBackend:
        raise NotImplementedError

    async def get(self, thread_id: str) -> ThreadRecord | None:
        raise NotImplementedError

    async def read_receipts(self, thread_ids: Sequence[str]) -> dict[str, ReadReceipt]:
        return await self._marks.receipts(thread_ids)

    async def mark_read_state(
        self, thread_id: str, expected_revision: str, mark: ReadMark
    ) -> ReadReceipt:
        if await self.get(thread_id) is None:
            raise ThreadNotStored(thread_id)
        return await self._marks.update_receipt(
            thread_id, lambda current: after_mark(current, expected_revision, mark)
        )

    async def receipt_turn_completed(self, thread_id: str, turn_id: str) -> ReadReceipt:
        return await self._marks.update_receipt(
            thread_id, lambda current: after_turn_completed(current, turn_id)
        )

    async def goal(self, thread_id: str) -> GoalRecord | None:
        return await self._marks.goal(thread_id)

    async def put_goal(self, goal: GoalRecord) -> None:
        await self._marks.put_goal(goal)

    async def clear_goal(self, thread_id: str) -> bool:
        return await self._marks.clear_goal(thread_id)

    async def metadata_patches(self, thread_ids: Sequence[str]) -> dict[str, MetadataPatch]:
        return await self._marks.metadata_patches(thread_ids)

    async def patch_metadata(self, thread_id: str, patch: MetadataPatch) -> MetadataPatch:
        return await self._marks.patch_metadata(thread_id, patch)
