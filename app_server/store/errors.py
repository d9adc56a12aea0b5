"""Every way a store refuses an operation: the `StoreError` family.

Why one module: the layers above (thread manager, handlers, storage admin) and a second backend
(an in-memory store today, a database later) must agree on what a refusal means without knowing
how a store keeps its data, so nothing here mentions files. The errors carry facts (which thread,
which cursor), never client-facing wording: `app_server.rpc.store_errors` is the one table that
turns each into 0.169's JSON-RPC code and text, which can differ by method for the same fact.

`HistoryLineageError` belongs to the history fold (`app_server.rollout.history`, which is pure
and must not depend on the store); it is re-exported here because every store raises it
unchanged, and the RPC table maps it beside the others.
"""

from __future__ import annotations

from app_server.rollout.history import HistoryLineageError

__all__ = [
    "ForkReferenced",
    "HistoryLineageError",
    "InvalidCursor",
    "InvalidItemAnchor",
    "ItemAnchorNeedsTurn",
    "ItemsListUnsupported",
    "StoreError",
    "StoreUnavailable",
    "ThreadAlreadyStored",
    "ThreadLoadedElsewhere",
    "ThreadNotStored",
    "UnknownAnchorItem",
    "WriterBusy",
    "WriterFenced",
]


class StoreError(Exception):
    """A store operation was refused; nothing was changed."""


class ThreadNotStored(StoreError):
    """The thread has no rollout in the store (never persisted, deleted, or archived when the
    operation needs a live thread, or live when it needs an archived one)."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(thread_id)
        self.thread_id = thread_id


class ThreadAlreadyStored(StoreError, FileExistsError):
    """`create_writer` refused: the thread has a rollout already (live or archived), and a second
    one would shadow it. Still a `FileExistsError` for callers written against the old contract."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"thread {thread_id} already has a rollout")
        self.thread_id = thread_id


class WriterBusy(StoreError):
    """Another writer (in this process or another one) holds the thread."""


class ForkReferenced(StoreError):
    """`delete_tree` refused: another thread's paginated history still references this one."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(thread_id)
        self.thread_id = thread_id


class InvalidCursor(StoreError, ValueError):
    """A paging cursor this server did not issue for this listing (`thread/list`,
    `thread/turns/list`, `thread/items/list`): `invalid cursor: <text>`."""

    def __init__(self, cursor: str) -> None:
        super().__init__(f"invalid cursor: {cursor}")
        self.cursor = cursor


class ItemsListUnsupported(StoreError):
    """The thread has no item ordinals (legacy, or nothing stored), so its items cannot be
    paged (0.169 answers that `thread/items/list` is not supported yet)."""


class InvalidItemAnchor(StoreError, ValueError):
    """An item-anchor cursor that cannot be served; the message is 0.169's."""


class ItemAnchorNeedsTurn(InvalidItemAnchor):
    """An item anchor without `turnId`."""

    def __init__(self) -> None:
        super().__init__("turnId is required when cursor is an item anchor")


class UnknownAnchorItem(InvalidItemAnchor):
    """An item anchor naming no item of the requested turn."""

    def __init__(self) -> None:
        super().__init__("cursor.itemId does not identify an item in the requested history scope")


class ThreadLoadedElsewhere(WriterBusy):
    """Another server process sharing the store has the thread loaded (holds its writer lease):
    it is archived, deleted or continued there, or here once it is idle there."""

    def __init__(self, thread_id: str, owner: str | None = None) -> None:
        super().__init__(
            f"thread {thread_id} is loaded by another app-server process sharing this store"
            " and is busy there; try again once its turn ended"
        )
        self.thread_id = thread_id
        self.owner = owner
        """The id of the process holding the thread (for a hand-over request)."""


class WriterFenced(StoreError):
    """A writer lost its thread to another process (its lease expired or its process was taken
    for dead, and the thread's fencing token moved on): it appends nothing more, ever."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"thread {thread_id} is now written by another process")
        self.thread_id = thread_id


class StoreUnavailable(StoreError):
    """The store's database cannot be used (unreachable, refused, or an unusable schema):
    `target` names where (`host:port/database`), `reason` why, in one line."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"PostgreSQL at {target}: {reason}")
        self.target = target
        self.reason = reason
