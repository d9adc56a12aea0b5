"""`thread/queue/add|list|update|delete|reorder|start`: the thread's queue of waiting user
messages (`app_server/threads/queued_turns.py`).

Each change is written before it is answered and announced right after (`thread/queue/changed`);
`thread/queue/start` answers the new turn as `turn/start` does (no start time yet), then runs it.
Refusals keep 0.169's texts; the input paths of a message are checked as `turn/start` checks them.
"""

from __future__ import annotations

from app_server.api.list_page import list_page
from app_server.api.reply import Reply
from app_server.api.turns import check_input_paths
from app_server.client_connection import ClientConnection
from app_server.errors import InvalidRequest
from app_server.threads.manager import thread_id_param
from app_server.threads.queued_turns import QueuedTurns
from app_server.threads.turns import ThreadTurns
from protocol.types import (
    QueuedSubmission,
    ThreadQueueAddParams,
    ThreadQueueAddResponse,
    ThreadQueueDeleteParams,
    ThreadQueueDeleteResponse,
    ThreadQueueListParams,
    ThreadQueueListResponse,
    ThreadQueueReorderParams,
    ThreadQueueReorderResponse,
    ThreadQueueStartParams,
    ThreadQueueStartResponse,
    ThreadQueueUpdateParams,
    ThreadQueueUpdateResponse,
)

DEFAULT_QUEUE_PAGE_SIZE = 25
"""`thread/queue/list`'s page size when no `limit` is given (the thread-list default)."""


class ThreadQueueHandlers:
    """Handlers of `thread/queue/*`."""

    def __init__(self, queue: QueuedTurns, turns: ThreadTurns) -> None:
        self._queue = queue
        self._turns = turns

    async def add(self, connection: ClientConnection, params: ThreadQueueAddParams) -> Reply:
        thread_id = thread_id_param(params.thread_id)
        check_input_paths(params.input)
        queued = await self._queue.add(
            thread_id,
            QueuedSubmission(
                id="",
                client_user_message_id=params.client_user_message_id,
                input=list(params.input),
                responsesapi_client_metadata=params.responsesapi_client_metadata,
            ),
        )
        await self._queue.persist(thread_id)
        client = connection.client_name
        return Reply(
            ThreadQueueAddResponse(queued_submission=queued),
            then=lambda: self._queue.announce(thread_id, start_as=client),
        )

    async def list(
        self, connection: ClientConnection, params: ThreadQueueListParams
    ) -> ThreadQueueListResponse:
        thread_id = thread_id_param(params.thread_id)
        waiting = await self._queue.waiting(thread_id)
        cursor = params.cursor
        if cursor is not None and not (cursor.isascii() and cursor.isdigit()):
            raise InvalidRequest("invalid queue pagination cursor: invalid digit found in string")
        page, next_cursor = list_page(waiting, cursor, params.limit, DEFAULT_QUEUE_PAGE_SIZE)
        return ThreadQueueListResponse(data=page, next_cursor=next_cursor)

    async def update(self, connection: ClientConnection, params: ThreadQueueUpdateParams) -> Reply:
        thread_id = thread_id_param(params.thread_id)
        check_input_paths(params.input)
        updated = await self._queue.update(
            thread_id,
            params.queued_submission_id,
            list(params.input),
            params.responsesapi_client_metadata,
        )
        await self._queue.persist(thread_id)
        return Reply(
            ThreadQueueUpdateResponse(queued_submission=updated),
            then=lambda: self._queue.announce(thread_id),
        )

    async def delete(
        self, connection: ClientConnection, params: ThreadQueueDeleteParams
    ) -> Reply | ThreadQueueDeleteResponse:
        thread_id = thread_id_param(params.thread_id)
        if not await self._queue.delete(thread_id, params.queued_submission_id):
            return ThreadQueueDeleteResponse(deleted=False)
        await self._queue.persist(thread_id)
        return Reply(
            ThreadQueueDeleteResponse(deleted=True),
            then=lambda: self._queue.announce(thread_id),
        )

    async def reorder(
        self, connection: ClientConnection, params: ThreadQueueReorderParams
    ) -> Reply:
        thread_id = thread_id_param(params.thread_id)
        await self._queue.reorder(thread_id, list(params.queued_submission_ids))
        await self._queue.persist(thread_id)
        return Reply(ThreadQueueReorderResponse(), then=lambda: self._queue.announce(thread_id))

    async def start(self, connection: ClientConnection, params: ThreadQueueStartParams) -> Reply:
        thread_id = thread_id_param(params.thread_id)
        runner = await self._queue.start(connection, thread_id, params.queued_submission_id)
        turn = runner.wire_turn().model_copy(update={"started_at": None})

        def then() -> None:
            self._queue.announce(thread_id)
            self._turns.launch(thread_id, runner)

        return Reply(ThreadQueueStartResponse(turn=turn), then=then)
