"""The one table from store refusals to JSON-RPC errors: code and codex 0.169's text.

Why a table here: the store says what happened (`ThreadNotStored(id)`), never how a client is
told; 0.169 words the same fact differently per method (a missing thread is `thread not loaded`
to `thread/read`, `no rollout found` to `thread/resume`, "not supported yet" to
`thread/items/list`), and clients match on those texts. Keying the table by (error type, method)
keeps every such text in one place, and a new method or a new store backend gets them for free.

A row with method `None` is the answer for any method without a row of its own. Lookup walks the
error's class hierarchy, so a subclass (the local store's `ThreadWriterBusy`) is answered as its
base (`WriterBusy`). Templates are formatted with `thread_id` (when the error carries one) and
`detail` (the error's own message).
"""

from __future__ import annotations

from typing import Final

from app_server.errors import (
    Conflict,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    NotFound,
    RpcError,
    ServerOverloaded,
)
from app_server.store.errors import (
    ForkReferenced,
    HistoryLineageError,
    InvalidCursor,
    InvalidItemAnchor,
    ItemsListUnsupported,
    StoreUnavailable,
    ThreadAlreadyStored,
    ThreadNotStored,
    WriterBusy,
    WriterFenced,
)

ITEMS_LIST_UNSUPPORTED = "thread/items/list is not supported yet"
"""0.169's answer (-32601) for a thread without paginated item history: a legacy thread, one with
nothing stored yet, or an id it does not know."""

ITEMS_READ_UNSUPPORTED = "thread/items/read is not supported yet"
"""0.169's `thread/items/read` answer (-32601) for the same threads."""

NO_ROLLOUT = "no rollout found for thread id {thread_id}"

STORE_ERROR_TABLE: Final[dict[tuple[type, str | None], tuple[type[RpcError], str]]] = {
    (ThreadNotStored, None): (NotFound, NO_ROLLOUT),
    (ThreadNotStored, "thread/read"): (NotFound, "thread not loaded: {thread_id}"),
    (ThreadNotStored, "thread/turns/list"): (NotFound, "thread not loaded: {thread_id}"),
    (ThreadNotStored, "thread/readState/update"): (NotFound, "thread not loaded: {thread_id}"),
    (ThreadNotStored, "thread/unarchive"): (
        NotFound,
        "no archived rollout found for thread id {thread_id}",
    ),
    (ThreadNotStored, "thread/items/list"): (MethodNotFound, ITEMS_LIST_UNSUPPORTED),
    (ItemsListUnsupported, None): (MethodNotFound, ITEMS_LIST_UNSUPPORTED),
    (ThreadNotStored, "thread/items/read"): (MethodNotFound, ITEMS_READ_UNSUPPORTED),
    (ItemsListUnsupported, "thread/items/read"): (MethodNotFound, ITEMS_READ_UNSUPPORTED),
    (ThreadAlreadyStored, None): (Conflict, "{detail}"),
    (WriterBusy, None): (Conflict, "{detail}"),
    (ForkReferenced, None): (
        Conflict,
        "cannot delete thread {thread_id}: forked history still references it",
    ),
    (HistoryLineageError, None): (InvalidRequest, "{detail}"),
    (InvalidCursor, None): (InvalidRequest, "{detail}"),
    (InvalidItemAnchor, None): (InvalidParams, "{detail}"),
    # Ours (the PostgreSQL store): a writer that lost its thread to another process, and a
    # database that cannot be reached right now (the client may retry once it is back).
    (WriterFenced, None): (Conflict, "{detail}"),
    (StoreUnavailable, None): (ServerOverloaded, "the history store is unavailable: {detail}"),
}


def store_rpc_error(exc: BaseException, method: str | None) -> RpcError | None:
    """The error a client gets when `method` failed with the store refusal `exc`; None when
    `exc` is not one the table knows."""
    for cls in type(exc).__mro__:
        row = STORE_ERROR_TABLE.get((cls, method)) or STORE_ERROR_TABLE.get((cls, None))
        if row is not None:
            error_type, template = row
            thread_id = getattr(exc, "thread_id", "")
            return error_type(template.format(thread_id=thread_id, detail=str(exc)))
    return None
