"""Store refusals become JSON-RPC errors through one table, with 0.169's code and text per method.

The end-to-end tests pin the texts clients see; these pin the table itself, and that no code
outside it turns a store error into an RPC error by hand.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app_server.errors import INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND
from app_server.rollout.history import HistoryLineageError
from app_server.rpc.errors import as_rpc_error
from app_server.store import errors as store_errors
from app_server.store.errors import (
    ForkReferenced,
    InvalidCursor,
    ItemAnchorNeedsTurn,
    ItemsListUnsupported,
    ThreadAlreadyStored,
    ThreadNotStored,
    UnknownAnchorItem,
    WriterBusy,
)
from app_server.store.local.writer_lock import ThreadWriterBusy

APP = Path(__file__).resolve().parents[2] / "app_server"
TID = "019a0000-0000-7000-8000-000000000001"


@pytest.mark.parametrize(
    ("error", "method", "code", "message"),
    [
        (ThreadNotStored(TID), "thread/read", INVALID_REQUEST, f"thread not loaded: {TID}"),
        (ThreadNotStored(TID), "thread/turns/list", INVALID_REQUEST, f"thread not loaded: {TID}"),
        (
            ThreadNotStored(TID),
            "thread/resume",
            INVALID_REQUEST,
            f"no rollout found for thread id {TID}",
        ),
        (
            ThreadNotStored(TID),
            "thread/fork",
            INVALID_REQUEST,
            f"no rollout found for thread id {TID}",
        ),
        (
            ThreadNotStored(TID),
            "thread/archive",
            INVALID_REQUEST,
            f"no rollout found for thread id {TID}",
        ),
        (
            ThreadNotStored(TID),
            "thread/delete",
            INVALID_REQUEST,
            f"no rollout found for thread id {TID}",
        ),
        (
            ThreadNotStored(TID),
            "thread/name/set",
            INVALID_REQUEST,
            f"no rollout found for thread id {TID}",
        ),
        (ThreadNotStored(TID), None, INVALID_REQUEST, f"no rollout found for thread id {TID}"),
        (
            ThreadNotStored(TID),
            "thread/unarchive",
            INVALID_REQUEST,
            f"no archived rollout found for thread id {TID}",
        ),
        (
            ThreadNotStored(TID),
            "thread/items/list",
            METHOD_NOT_FOUND,
            "thread/items/list is not supported yet",
        ),
        (
            ItemsListUnsupported(),
            "thread/items/list",
            METHOD_NOT_FOUND,
            "thread/items/list is not supported yet",
        ),
        (
            ItemsListUnsupported(),
            "thread/items/read",
            METHOD_NOT_FOUND,
            "thread/items/read is not supported yet",
        ),
        (
            ThreadNotStored(TID),
            "thread/items/read",
            METHOD_NOT_FOUND,
            "thread/items/read is not supported yet",
        ),
        (
            ForkReferenced(TID),
            "thread/delete",
            INVALID_REQUEST,
            f"cannot delete thread {TID}: forked history still references it",
        ),
        (
            HistoryLineageError(TID, "missing source rollout"),
            "thread/read",
            INVALID_REQUEST,
            f"invalid paginated history lineage for {TID}: missing source rollout",
        ),
        (InvalidCursor("x"), "thread/list", INVALID_REQUEST, "invalid cursor: x"),
        (InvalidCursor("x"), "thread/turns/list", INVALID_REQUEST, "invalid cursor: x"),
        (WriterBusy("busy"), "thread/resume", INVALID_REQUEST, "busy"),
        (
            ThreadWriterBusy(TID),
            "thread/resume",
            INVALID_REQUEST,
            f"thread {TID} already has an active writer",
        ),
        (
            ThreadAlreadyStored(TID),
            "thread/fork",
            INVALID_REQUEST,
            f"thread {TID} already has a rollout",
        ),
        (
            ItemAnchorNeedsTurn(),
            "thread/items/list",
            INVALID_PARAMS,
            "turnId is required when cursor is an item anchor",
        ),
        (
            UnknownAnchorItem(),
            "thread/items/list",
            INVALID_PARAMS,
            "cursor.itemId does not identify an item in the requested history scope",
        ),
    ],
)
def test_each_store_error_has_its_code_and_text(
    error: Exception, method: str | None, code: int, message: str
) -> None:
    answer = as_rpc_error(error, method=method)
    assert (answer.code, answer.message) == (code, message)


def test_every_store_error_has_a_row() -> None:
    """A new `StoreError` without a row would reach clients as an internal error."""
    for name in store_errors.__all__:
        error_type = getattr(store_errors, name)
        if isinstance(error_type, type) and issubclass(error_type, Exception):
            if error_type is store_errors.StoreError:
                continue
            error = error_type.__new__(error_type)
            Exception.__init__(error, "x")
            assert as_rpc_error(error, method=None).code != -32603, name


RPC_ERRORS = {
    "RpcError",
    "InvalidRequest",
    "NotFound",
    "Conflict",
    "InvalidParams",
    "MethodNotFound",
}


def _names(node: ast.expr | None) -> set[str]:
    nodes = node.elts if isinstance(node, ast.Tuple) else [node] if node is not None else []
    out = set()
    for n in nodes:
        target = n.func if isinstance(n, ast.Call) else n
        out.add(target.id if isinstance(target, ast.Name) else getattr(target, "attr", ""))
    return out


def test_no_handler_or_manager_turns_a_store_error_into_an_rpc_error_by_hand() -> None:
    """Store errors propagate to the dispatcher; only the table words them."""
    names = set(store_errors.__all__) | {"StoreError"}
    for folder in ("api", "threads"):
        for path in sorted((APP / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ExceptHandler) and _names(node.type) & names:
                    raised = set().union(
                        *(_names(r.exc) for r in ast.walk(node) if isinstance(r, ast.Raise))
                    )
                    assert not raised & RPC_ERRORS, f"{path.relative_to(APP)}:{node.lineno}"
