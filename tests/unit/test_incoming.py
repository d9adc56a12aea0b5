"""Classifying incoming messages and refusing what is not JSON-RPC."""

from __future__ import annotations

import pytest

from app_server.errors import ParseError
from app_server.rpc.incoming import (
    ClientNotification,
    ErrorResponse,
    MalformedMessage,
    Request,
    Response,
    parse_message,
)


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
