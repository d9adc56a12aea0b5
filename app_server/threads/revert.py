"""`thread/revert`: a loaded paginated thread's history goes back to just before one of its turns.

What codex 0.169.0 does (observed, `scripts/codex_compare` scenario "thread revert"): only a
thread loaded by this process can be reverted (else `thread not found: <id>`); ephemeral and
legacy threads are refused. A running turn is interrupted first. The thread is then unloaded
(`thread/status/changed notLoaded`) and loaded again from the shortened history (`idle`), its
subscribers kept; a read receipt whose first unread turn left the history is reset (read) and
announced; the answer carries the thread and the backwards cursors of the retained history, and
`thread/reverted` follows it. A turn id that is not in the history unloads and reloads the
thread just the same, then fails with `turn not found: <id>`.

How it is recorded (a deliberate difference, README): codex writes a new rollout segment whose
`session_meta.history_base` references the retained prefix of the previous one; we append
codex's own rollback record, `event_msg thread_rolled_back {num_turns}`, to the thread's rollout
instead: append-only like every other write, the same in every store, and read by every fold
(turns, items, model history, token usage) as "these turns are gone". The model's next turn sees
exactly the retained prefix, as with codex.
"""

from __future__ import annotations

from msgspec import Struct

from app_server.client_connection import ClientConnection
from app_server.errors import InvalidRequest
from app_server.rollout import thread_events
from app_server.store.interface import ThreadHistory
from app_server.threads.fanout import publish
from app_server.threads.loaded_thread import LoadedThread
from app_server.threads.manager import ThreadManager
from app_server.threads.thread_marks import wire_read_state
from protocol.types import IdleThreadStatus, ThreadReadStateChangedNotification


class Reverted(Struct, frozen=True):
    """The reloaded thread and its retained history."""

    thread: LoadedThread
    history: ThreadHistory


def _check_revertible(manager: ThreadManager, thread_id: str) -> LoadedThread:
    thread = manager.loaded(thread_id)
    if thread is None:
        raise InvalidRequest(f"thread not found: {thread_id}")
    if thread.ephemeral:
        raise InvalidRequest("ephemeral threads do not support thread/revert")
    if thread.record.history_mode != "paginated":
        raise InvalidRequest("thread/revert only supports paginated threads")
    return thread


async def revert_thread(
    manager: ThreadManager, connection: ClientConnection, thread_id: str, before_turn_id: str
) -> Reverted:
    """Drop `before_turn_id` and every later turn from the thread's history (see the module
    docstring). Raises `InvalidRequest` for the refusals codex makes."""
    thread = _check_revertible(manager, thread_id)
    if not thread.persisted:  # nothing written yet: no turn to go back to
        raise InvalidRequest(f"turn not found: {before_turn_id}")
    listeners = list(thread.subscribers.values())
    settings = thread.settings
    await manager.unloader.unload(thread)  # interrupts a running turn, releases the writer
    try:
        history = await manager.reads.read_history(thread_id)
        index = next(
            (i for i, entry in enumerate(history.turns) if entry.turn_id == before_turn_id), None
        )
        if index is None:
            raise InvalidRequest(f"turn not found: {before_turn_id}")
        dropped = {entry.turn_id for entry in history.turns[index:]}
        writer = await manager.store.open_writer(thread_id)
        try:
            writer.append([thread_events.thread_rolled_back(len(history.turns) - index)])
            await writer.sync()
        finally:
            await writer.close()
        await _forget_unread(manager, thread_id, dropped, listeners)
    finally:
        reloaded, fresh = await _reload(manager, connection, thread_id, listeners)
        reloaded.apply_settings(settings)  # the session's settings, not only the saved ones
    return Reverted(reloaded, fresh)


async def _forget_unread(
    manager: ThreadManager,
    thread_id: str,
    dropped: set[str],
    listeners: list[ClientConnection],
) -> None:
    """A read receipt pointing at a dropped turn would name a turn that no longer exists:
    the thread becomes read (a new revision), and its listeners are told, as codex does."""
    receipts = await manager.store.read_receipts([thread_id])
    receipt = receipts.get(thread_id)
    if receipt is None or receipt.first_unread_turn not in dropped:
        return
    receipt = await manager.store.mark_read_state(thread_id, receipt.revision, "read")
    notice = ThreadReadStateChangedNotification(
        thread_id=thread_id, read_state=wire_read_state(receipt)
    )
    publish(listeners, notice)


async def _reload(
    manager: ThreadManager,
    connection: ClientConnection,
    thread_id: str,
    listeners: list[ClientConnection],
) -> tuple[LoadedThread, ThreadHistory]:
    """Load the thread again for the connections that had it (or the caller), `idle`."""
    first = listeners[0] if listeners else connection
    thread, history = await manager.resume(first, thread_id, None)
    for listener in listeners[1:]:
        thread.subscribe(listener)
    manager.set_status(thread, IdleThreadStatus())
    if history is None:
        history = await manager.reads.read_history(thread_id)
    return thread, history
