"""Exceptions become JSON-RPC errors in one place, with readable messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app_server.errors import InternalError, NotFound, ServerOverloaded
from app_server.rpc.errors import as_rpc_error
from protocol.types import ThreadListParams, ThreadReadParams


def validation_error(model: type, data: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)  # type: ignore[attr-defined]
    return caught.value


def test_typed_errors_keep_their_code_and_text() -> None:
    error = as_rpc_error(NotFound("thread not found: x"))
    assert (error.code, error.message) == (-32600, "thread not found: x")
    assert as_rpc_error(ServerOverloaded()).code == -32001


def test_validation_error_is_invalid_params_naming_the_field() -> None:
    error = as_rpc_error(validation_error(ThreadReadParams, {"threadId": []}))
    assert error.code == -32602
    assert error.message.startswith("Invalid params: `threadId`: ")


def test_many_validation_problems_are_summarized() -> None:
    bad = {"limit": "x", "sortKey": 1, "sortDirection": 2, "archived": "maybe", "cwd": 3}
    error = as_rpc_error(validation_error(ThreadListParams, bad))
    assert "more problem(s)" in error.message


def test_unexpected_exception_is_internal_error_without_details() -> None:
    error = as_rpc_error(RuntimeError("/secret/path leaked"))
    assert isinstance(error, InternalError)
    assert "secret" not in error.message
