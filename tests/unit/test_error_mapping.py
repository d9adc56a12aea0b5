"""Exceptions become JSON-RPC errors in one place, with readable messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app_server.errors import InternalError, NotFound, ServerOverloaded
from app_server.rpc.errors import (
    MAX_LOGGED_LINE_CHARS,
    SHORT_REPR_CHARS,
    as_rpc_error,
    short_repr,
)
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


def test_error_for_a_thousand_deep_value_quotes_it_without_recursing() -> None:
    """Issue 14: quoting the bad value fell back to `repr()`, which raised RecursionError out of
    the dispatcher and ended the process."""
    value: list[object] = []
    for _ in range(100_000):
        value = [value]
    error = as_rpc_error(validation_error(ThreadReadParams, {"threadId": value}))
    assert error.code == -32602
    assert "(got [[[[[[" in error.message


def test_quoted_value_is_cut_to_the_limit() -> None:
    big = {"k": list(range(1_000_000))}
    text = short_repr(big)
    assert len(text) == SHORT_REPR_CHARS
    assert text.startswith('{"k":[0,1,2,')
    assert text.endswith("…")


def test_quoted_string_keeps_json_escapes() -> None:
    assert short_repr('a\u0000"b') == '"a\\u0000\\"b"'


def test_quoted_value_that_is_not_json_names_its_type() -> None:
    assert short_repr([object(), b"x"]) == "[<object>,<bytes>]"


def test_internal_error_is_logged_with_method_and_id_and_long_lines_cut(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "/home/someone/" + "x" * 2000
    error = as_rpc_error(OSError(36, "File name too long", secret), method="thread/x", request_id=9)
    assert isinstance(error, InternalError)
    (record,) = caplog.records
    text = record.getMessage()
    assert "thread/x" in text
    assert "(id 9)" in text
    assert "x" * (MAX_LOGGED_LINE_CHARS + 1) not in text
