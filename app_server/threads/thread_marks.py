"""Read receipts and goals of threads, as the protocol shows them (`ThreadReadState`,
`ThreadGoal`) and as they change (`thread/readState/changed`, `thread/goal/updated|cleared`).

The store keeps the marks (`store.thread_marks`); this module decides which threads have them
and who hears about a change. Codex 0.169 gives read state only to durable threads that are not
sub-agents (a thread whose rollout does not exist yet, an ephemeral one or a sub-agent reads
`readState: null`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app_server.client_connection import ClientConnection
from app_server.errors import InvalidRequest, NotFound
from app_server.notification import notification
from app_server.rollout import thread_events
from app_server.store.thread_marks import (
    THREAD_START,
    GoalRecord,
    ReadMark,
    ReadReceipt,
    ReadStateConflict,
)
from app_server.threads.loaded_thread import LoadedThread
from app_server.threads.manager import ThreadManager
from protocol import types as wire
from protocol.types import (
    ThreadReadState,
    ThreadReadStateChangedNotification,
    ThreadStartThreadUnreadPosition,
    TurnThreadUnreadPosition,
)
from protocol.wire_model import WireModel

if TYPE_CHECKING:  # created on first use (through `wire` at run time), not by a first turn
    from protocol.types import ThreadGoal

log = logging.getLogger(__name__)

READ_STATE_CONFLICT = "readStateConflict"
"""`error.data.reason` of a refused stale update (codex's)."""


class ReadStateConflictError(InvalidRequest):
    """-32600 `read state changed` with `data: {reason, readState}` (codex's answer)."""

    def __init__(self, current: ThreadReadState) -> None:
        super().__init__("read state changed")
        self.data = {
            "reason": READ_STATE_CONFLICT,
            "readState": current.model_dump(mode="json", by_alias=True),
        }


def wire_read_state(receipt: ReadReceipt) -> ThreadReadState:
    first = receipt.first_unread_turn
    position: ThreadStartThreadUnreadPosition | TurnThreadUnreadPosition | None
    if first is None:
        position = None
    elif first == THREAD_START:
        position = ThreadStartThreadUnreadPosition()
    else:
        position = TurnThreadUnreadPosition(turn_id=first)
    return ThreadReadState(first_unread=position, revision=receipt.revision)


def wire_goal(goal: GoalRecord) -> ThreadGoal:
    return wire.ThreadGoal(
        thread_id=goal.thread_id,
        objective=goal.objective,
        status=goal.status,
        token_budget=goal.token_budget,
        tokens_used=goal.tokens_used,
        time_used_seconds=goal.time_used_seconds,
        created_at=goal.created_at_ms // 1000,
        updated_at=goal.updated_at_ms // 1000,
    )


class ThreadMarks:
    """Reads and changes the marks of threads, and tells clients."""

    def __init__(self, manager: ThreadManager) -> None:
        self._manager = manager

    # -- read receipts ---------------------------------------------------------------------------
    async def read_states(self, thread_ids: list[str]) -> dict[str, ThreadReadState]:
        """The read state of each thread that has one (`thread/list.readStates`)."""
        receipts = await self._manager.store.read_receipts(thread_ids)
        return {i: wire_read_state(r) for i, r in receipts.items()}

    async def read_state(self, thread_id: str) -> ThreadReadState | None:
        states = await self.read_states([thread_id])
        return states.get(thread_id)

    async def mark(
        self, connection: ClientConnection, thread_id: str, expected_revision: str, mark: ReadMark
    ) -> ThreadReadState:
        """`thread/readState/update`: the new state, announced before the answer (codex's
        order). Raises `ReadStateConflictError` on a stale revision."""
        loaded = self._manager.loaded(thread_id)
        if (loaded is not None and not loaded.persisted) or await self._is_sub_agent(thread_id):
            raise NotFound(f"thread not loaded: {thread_id}")
        try:
            receipt = await self._manager.store.mark_read_state(thread_id, expected_revision, mark)
        except ReadStateConflict as conflict:
            raise ReadStateConflictError(wire_read_state(conflict.current)) from None
        state = wire_read_state(receipt)
        self._tell(
            connection,
            thread_id,
            ThreadReadStateChangedNotification(thread_id=thread_id, read_state=state),
        )
        return state

    async def turn_completed(self, thread: LoadedThread, turn_id: str) -> None:
        """A turn of the thread completed: record it in the receipt and tell the thread's
        audience (codex sends this just before the thread goes idle). Failing to record is
        logged, never allowed to stop the turn from ending."""
        if not thread.persisted or thread.is_sub_agent:
            return
        try:
            receipt = await self._manager.store.receipt_turn_completed(thread.id, turn_id)
        except Exception:
            log.exception("recording the read receipt of turn %s failed", turn_id)
            return
        self._manager.publish(
            thread,
            ThreadReadStateChangedNotification(
                thread_id=thread.id, read_state=wire_read_state(receipt)
            ),
        )

    async def _is_sub_agent(self, thread_id: str) -> bool:
        record = await self._manager.store.get(thread_id)
        return record is not None and record.parent_thread_id is not None

    # -- goals -----------------------------------------------------------------------------------
    async def goal(self, thread_id: str) -> ThreadGoal | None:
        goal = await self._manager.store.goal(thread_id)
        return None if goal is None else wire_goal(goal)

    async def put_goal(self, goal: GoalRecord) -> ThreadGoal:
        """Store the goal; a loaded thread with a rollout also records it there, as codex does
        (a thread without a rollout yet, or not loaded, has it in the index only)."""
        await self._manager.store.put_goal(goal)
        wire = wire_goal(goal)
        loaded = self._manager.loaded(goal.thread_id)
        if loaded is not None and loaded.writer is not None:
            loaded.writer.append([thread_events.thread_goal_updated(wire)])
            await loaded.writer.flush()
        return wire

    async def clear_goal(self, thread_id: str) -> bool:
        return await self._manager.store.clear_goal(thread_id)

    def announce_goal(self, connection: ClientConnection, goal: ThreadGoal) -> None:
        self._tell(
            connection,
            goal.thread_id,
            wire.ThreadGoalUpdatedNotification(thread_id=goal.thread_id, goal=goal, turn_id=None),
        )

    def announce_resumed_goal(
        self, connection: ClientConnection, thread_id: str, goal: ThreadGoal | None
    ) -> None:
        """After `thread/resume`, codex tells the resuming client the thread's goal, or that it
        has none (`thread/goal/cleared`), so a client's goal view starts in step."""
        if goal is None:
            connection.notify(notification(wire.ThreadGoalClearedNotification(thread_id=thread_id)))
        else:
            connection.notify(
                notification(
                    wire.ThreadGoalUpdatedNotification(thread_id=thread_id, goal=goal, turn_id=None)
                )
            )

    def announce_cleared(self, connection: ClientConnection, thread_id: str) -> None:
        self._tell(connection, thread_id, wire.ThreadGoalClearedNotification(thread_id=thread_id))

    def _tell(
        self,
        connection: ClientConnection,
        thread_id: str,
        params: WireModel,
    ) -> None:
        """The thread's audience when it is loaded (and the caller in any case)."""
        loaded = self._manager.loaded(thread_id)
        if loaded is not None:
            self._manager.publish(loaded, params)
            if connection.connection_id in loaded.subscribers:
                return
        connection.notify(notification(params))
