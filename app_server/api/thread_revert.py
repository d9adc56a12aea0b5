"""`thread/revert` (`app_server/threads/revert.py`): answers the reloaded thread (its `turns`
empty, as codex's) with the backwards cursors of the retained history, then `thread/reverted`
to the thread's subscribers."""

from __future__ import annotations

from pathlib import Path

from app_server.api.reply import Reply
from app_server.api.resume_cursors import resume_cursors
from app_server.client_connection import ClientConnection
from app_server.threads.fanout import publish
from app_server.threads.manager import ThreadManager, thread_id_param
from app_server.threads.revert import revert_thread
from protocol.types import ThreadRevertedNotification, ThreadRevertParams, ThreadRevertResponse


class ThreadRevertHandler:
    """The handler of `thread/revert`."""

    def __init__(self, manager: ThreadManager, data_dir: Path) -> None:
        self._manager = manager
        self._data_dir = data_dir

    async def revert(self, connection: ClientConnection, params: ThreadRevertParams) -> Reply:
        thread_id = thread_id_param(params.thread_id)
        reverted = await revert_thread(self._manager, connection, thread_id, params.before_turn_id)
        turns_cursor, items_cursor = resume_cursors(thread_id, reverted.history)
        response = ThreadRevertResponse(
            thread=reverted.thread.thread(self._data_dir),
            turns_backwards_cursor=turns_cursor,
            items_backwards_cursor=items_cursor,
        )
        listeners = list(reverted.thread.subscribers.values())

        def then() -> None:
            publish(listeners, ThreadRevertedNotification(thread_id=thread_id))

        return Reply(response, then=then)
