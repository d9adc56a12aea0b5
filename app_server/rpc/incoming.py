"""Classify one incoming JSON-RPC message (sans I/O).

A message is a request (`id` + `method`), a notification (`method` only) or the client's answer to
a server request (`id` + `result` or `error`). Anything else is refused with an error that still
carries the request's id when it can be read, so a client can always match the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from app_server.errors import InvalidRequest, ParseError
from protocol.types import RequestId

JSON_RPC_INT_MIN = -(2**63)
JSON_RPC_INT_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Request:
    """A client request; `params` is the raw JSON value (None when absent or null)."""

    id: RequestId
    method: str
    params: object


@dataclass(frozen=True, slots=True)
class ClientNotification:
    """A client notification: never answered."""

    method: str
    params: object


@dataclass(frozen=True, slots=True)
class Response:
    """The client's successful answer to a server request."""

    id: RequestId
    result: object


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """The client's failed answer to a server request."""

    id: RequestId
    error: object


Incoming = Request | ClientNotification | Response | ErrorResponse


class MalformedMessage(InvalidRequest):
    """Valid JSON that is not a JSON-RPC message; `request_id` is echoed when it was readable."""

    def __init__(self, message: str, request_id: RequestId | None = None) -> None:
        super().__init__(f"Invalid request: {message}")
        self.request_id = request_id


def valid_id(value: object) -> RequestId | None:
    """The id if it is a string or an in-range integer (booleans are not ids), else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    if JSON_RPC_INT_MIN <= value <= JSON_RPC_INT_MAX:
        return value
    return None


def parse_message(data: bytes | str) -> Incoming:
    """Parse and classify one message; raises `ParseError` or `MalformedMessage`."""
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"Parse error: {exc}") from None
    if isinstance(message, list):
        raise MalformedMessage("batch requests are not supported; send one message per line")
    if not isinstance(message, dict):
        raise MalformedMessage("a message must be a JSON object")
    raw_id = message.get("id")
    request_id = valid_id(raw_id)
    has_id = raw_id is not None
    method = message.get("method")
    if method is not None:
        if not isinstance(method, str):
            raise MalformedMessage("`method` must be a string", request_id)
        params = message.get("params")
        if not has_id:
            return ClientNotification(method, params)
        if request_id is None:
            raise MalformedMessage("`id` must be a string or a 64-bit integer")
        return Request(request_id, method, params)
    if has_id and ("result" in message or "error" in message):
        if request_id is None:
            raise MalformedMessage("`id` must be a string or a 64-bit integer")
        if "error" in message:
            return ErrorResponse(request_id, message["error"])
        return Response(request_id, message["result"])
    raise MalformedMessage(
        "a message needs `method` (request or notification) or `result`/`error`", request_id
    )
