"""Classifying incoming messages and refusing what is not JSON-RPC."""

from __future__ import annotations

import pytest

from app_server.errors import ParseError
from app_server.rpc.incoming import (
    ClientNotification,
    ErrorResponse,
    MalformedMessage,
    NullIdAnswer,
    Request,
    Response,
    parse_message,
)
from app_server.transport.limits import MAX_NESTING_DEPTH


def test_request_with_params() -> None:
    assert parse_message(b'{"id": 3, "method": "m", "params": {"a": 1}}') == Request(
        3, "m", {"a": 1}
    )


def test_jsonrpc_member_is_accepted_and_ignored() -> None:
    assert parse_message('{"jsonrpc": "2.0", "id": "x", "method": "m"}') == Request("x", "m", None)


def test_message_without_id_is_a_notification() -> None:
    assert parse_message(b'{"method": "initialized"}') == ClientNotification("initialized", None)


def test_answer_to_server_request() -> None:
    assert parse_message(b'{"id": 0, "result": {"decision": "accept"}}') == Response(
        0, {"decision": "accept"}
    )
    assert parse_message(b'{"id": 0, "error": {"code": 1}}') == ErrorResponse(0, {"code": 1})


def test_not_json_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_message(b"\xff\xfe")


@pytest.mark.parametrize(
    ("text", "echoed_id"),
    [
        (b"[]", None),
        (b"42", None),
        (b'{"id": true, "method": "m"}', None),
        (b'{"id": 1.5, "method": "m"}', None),
        (b'{"id": 99999999999999999999, "method": "m"}', None),
        (b'{"id": 4, "method": 7}', 4),
        (b'{"id": 5}', 5),
    ],
)
def test_malformed_messages_echo_the_id_when_readable(text: bytes, echoed_id: object) -> None:
    with pytest.raises(MalformedMessage) as refused:
        parse_message(text)
    assert refused.value.request_id == echoed_id
    assert refused.value.code == -32600


def nested(depth: int) -> str:
    """A message whose innermost array sits at `depth` levels (the message is level 1)."""
    return '{"id": 7, "method": "m", "params": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def test_message_at_the_nesting_limit_is_accepted() -> None:
    message = parse_message(nested(MAX_NESTING_DEPTH))
    assert isinstance(message, Request)


def test_message_one_level_past_the_nesting_limit_is_refused_with_its_id() -> None:
    with pytest.raises(MalformedMessage) as refused:
        parse_message(nested(MAX_NESTING_DEPTH + 1).encode())
    assert refused.value.request_id == 7
    assert f"nested deeper than {MAX_NESTING_DEPTH} levels" in refused.value.message


def test_nesting_orjson_cannot_parse_is_refused_as_too_deep_without_an_id() -> None:
    """Past orjson's 1024 levels the id cannot be read: still -32600, not a parse error."""
    with pytest.raises(MalformedMessage) as refused:
        parse_message(nested(5000))
    assert refused.value.request_id is None


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = '{"id": 1, "method": "m", "params": {"a": "' + "[{" * 500 + '\\\\", "b": "\\"]"}}'
    assert parse_message(text) == Request(1, "m", {"a": "[{" * 500 + "\\", "b": '"]'})


def test_unbalanced_brackets_are_a_parse_error_not_too_deep() -> None:
    with pytest.raises(ParseError):
        parse_message("[" * 100)


def test_too_deep_answer_fails_the_server_request_it_answers() -> None:
    """Answers are never answered: the pending server request fails instead."""
    text = '{"id": 4, "result": ' + "[" * 100 + "]" * 100 + "}"
    message = parse_message(text)
    assert isinstance(message, ErrorResponse)
    assert message.id == 4


def test_request_with_null_id_is_refused_without_an_id() -> None:
    """JSON-RPC 2.0 §4: a message with an `id` member is a request, even when it is null."""
    with pytest.raises(MalformedMessage) as refused:
        parse_message(b'{"id": null, "method": "thread/list"}')
    assert refused.value.request_id is None
    assert "`id` must not be null" in refused.value.message


def test_answer_with_null_id_is_classified_to_be_ignored() -> None:
    message = parse_message(b'{"id": null, "error": {"code": -32700, "message": "x"}}')
    assert message == NullIdAnswer({"code": -32700, "message": "x"})
