"""Read receipts and goals: `thread/readState/update`, `thread/goal/set|get|clear`.

Thin: checks what only the wire can tell (codex's validation texts), asks `ThreadMarks`, and
orders the notifications as 0.169 does: `thread/readState/changed` before the answer,
`thread/goal/updated` / `thread/goal/cleared` after it.
"""

from __future__ import annotations

from msgspec.structs import replace

from app_server.api.reply import Reply
from app_server.client_connection import ClientConnection
from app_server.errors import InvalidRequest, NotFound
from app_server.ids import uuid7
from app_server.notification import now_ms
from app_server.store.thread_marks import GoalRecord
from app_server.threads.manager import ThreadManager, thread_id_param
from app_server.threads.thread_marks import ThreadMarks
from protocol.types import (
    ThreadGoalClearParams,
    ThreadGoalClearResponse,
    ThreadGoalGetParams,
    ThreadGoalGetResponse,
    ThreadGoalSetParams,
    ThreadGoalSetResponse,
    ThreadReadStateUpdateParams,
    ThreadReadStateUpdateResponse,
)


class ThreadMarkHandlers:
    """Handlers of the read-receipt and goal methods."""

    def __init__(self, manager: ThreadManager) -> None:
        self._manager = manager
        self._marks = ThreadMarks(manager)

    async def read_state_update(
        self, connection: ClientConnection, params: ThreadReadStateUpdateParams
    ) -> ThreadReadStateUpdateResponse:
        thread_id = thread_id_param(params.thread_id)
        state = await self._marks.mark(
            connection, thread_id, params.expected_revision, params.operation.type
        )
        return ThreadReadStateUpdateResponse(read_state=state)

    async def _require_thread(self, thread_id: str) -> None:
        """A goal belongs to a loaded or stored thread (`thread not found: <id>` otherwise)."""
        if (
            self._manager.loaded(thread_id) is None
            and await self._manager.store.get(thread_id) is None
        ):
            raise NotFound(f"thread not found: {thread_id}")

    async def goal_get(
        self, connection: ClientConnection, params: ThreadGoalGetParams
    ) -> ThreadGoalGetResponse:
        thread_id = thread_id_param(params.thread_id)
        await self._require_thread(thread_id)
        return ThreadGoalGetResponse(goal=await self._marks.goal(thread_id))

    async def goal_set(self, connection: ClientConnection, params: ThreadGoalSetParams) -> Reply:
        thread_id = thread_id_param(params.thread_id)
        await self._require_thread(thread_id)
        if params.objective is not None and not params.objective.strip():
            raise InvalidRequest("goal objective must not be empty")
        if params.token_budget is not None and params.token_budget <= 0:
            raise InvalidRequest("goal budgets must be positive when provided")
        existing = await self._manager.store.goal(thread_id)
        now = now_ms()
        if existing is None:
            if params.objective is None:
                raise InvalidRequest(f"cannot update goal for thread {thread_id}: no goal exists")
            goal = GoalRecord(
                thread_id=thread_id,
                goal_id=str(uuid7()),
                objective=params.objective,
                status=params.status or "active",
                token_budget=params.token_budget,
                tokens_used=0,
                time_used_seconds=0,
                created_at_ms=now,
                updated_at_ms=now,
            )
        else:
            goal = replace(
                existing,
                objective=params.objective if params.objective is not None else existing.objective,
                status=params.status or existing.status,
                token_budget=params.token_budget
                if params.token_budget is not None
                else existing.token_budget,
                updated_at_ms=now,
            )
        wire = await self._marks.put_goal(goal)
        return Reply(
            ThreadGoalSetResponse(goal=wire),
            then=lambda: self._marks.announce_goal(connection, wire),
        )

    async def goal_clear(
        self, connection: ClientConnection, params: ThreadGoalClearParams
    ) -> Reply:
        thread_id = thread_id_param(params.thread_id)
        await self._require_thread(thread_id)
        cleared = await self._marks.clear_goal(thread_id)

        def announce() -> None:
            if cleared:
                self._marks.announce_cleared(connection, thread_id)

        return Reply(ThreadGoalClearResponse(cleared=cleared), then=announce)
