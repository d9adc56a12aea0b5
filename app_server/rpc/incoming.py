"""Classify one incoming JSON-RPC message (sans I/O).

A message is a request (`id` + `method`), a notification (`method` only) or the client's answer to
a server request (`id` + `result` or `error`). Anything else is refused with an error that still
carries the request's id when it can be read, so a client can always match the refusal.

Both transports parse every message here, so the bounds on what later stages may walk are checked
here once: a message nested deeper than `MAX_NESTING_DEPTH` is refused before anything recurses
into it (README, "Limits").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import orjson
from msgspec import Struct

from app_server.errors import InvalidRequest, ParseError
from app_server.transport.limits import MAX_NESTING_DEPTH

if TYPE_CHECKING:
    from protocol.types import RequestId

JSON_RPC_INT_MIN = -(2**63)
JSON_RPC_INT_MAX = 2**63 - 1


class Request(Struct, frozen=True):
    """A client request; `params` is the raw JSON value (None when absent or null)."""

    id: RequestId
    method: str
    params: object


class ClientNotification(Struct, frozen=True):
    """A client notification: never answered."""

    method: str
    params: object


class Response(Struct, frozen=True):
    """The client's successful answer to a server request."""

    id: RequestId
    result: object


class ErrorResponse(Struct, frozen=True):
    """The client's failed answer to a server request."""

    id: RequestId
    error: object


class NullIdAnswer(Struct, frozen=True):
    """A client's answer with `"id": null`: JSON-RPC's way to say it could not read one of our
    requests. It matches no request (ours have integer ids) and is never answered."""

    error: object


Incoming = Request | ClientNotification | Response | ErrorResponse | NullIdAnswer

TOO_DEEP = (
    f"message nested deeper than {MAX_NESTING_DEPTH} levels of arrays and objects; it was ignored"
)

NULL_ID = (
    "`id` must not be null (send a string or an integer; a message without `id` is a notification)"
)


def _depth_pattern(levels: int) -> re.Pattern[bytes]:
    """Matches a balanced run of `[`/`]` nested at most `levels` deep. The quantifiers are
    possessive, so matching is one forward pass that never backtracks."""
    pattern = b""
    for _ in range(levels):
        pattern = rb"(?:\[" + pattern + rb"\])*+"
    return re.compile(pattern)


_WITHIN_DEPTH_LIMIT = _depth_pattern(MAX_NESTING_DEPTH)
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_OBJECTS_AS_ARRAYS = bytes.maketrans(b"{}", b"[]")


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


def nests_too_deep(data: bytes | str) -> bool:
    """Whether the arrays and objects of the JSON text `data` nest deeper than
    `MAX_NESTING_DEPTH` levels (the outermost value is level 1).

    Never recurses, and every step runs at C speed. A text with no more brackets than the limit
    cannot nest deeper and is not scanned. Otherwise string literals are cut out (brackets in
    them do not count; escaped backslashes and quotes go first, so every quote left opens or
    closes a string), everything but brackets is deleted, and one regular expression checks
    that what is left nests within the limit. Unbalanced text is not JSON: it is left for the
    parser to report.
    """
    if isinstance(data, str):
        if data.count("[") + data.count("{") <= MAX_NESTING_DEPTH:
            return False
        raw = data.encode("utf-8", "surrogatepass")
    elif data.count(b"[") + data.count(b"{") <= MAX_NESTING_DEPTH:
        return False
    else:
        raw = data
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside_strings = b"".join(unescaped.split(b'"')[::2])
    brackets = outside_strings.translate(_OBJECTS_AS_ARRAYS, _NOT_A_BRACKET)
    if _WITHIN_DEPTH_LIMIT.fullmatch(brackets):
        return False
    return brackets.count(b"[") == brackets.count(b"]")


def parse_message(data: bytes | str) -> Incoming:
    """Parse and classify one message; raises `ParseError` or `MalformedMessage`."""
    too_deep = nests_too_deep(data)
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if too_deep:  # e.g. beyond orjson's own 1024 levels: still a too-deep message
            raise MalformedMessage(TOO_DEEP) from None
        raise ParseError(f"Parse error: {exc}") from None
    if isinstance(message, list):
        raise MalformedMessage("batch requests are not supported; send one message per line")
    if not isinstance(message, dict):
        raise MalformedMessage("a message must be a JSON object")
    raw_id = message.get("id")
    request_id = valid_id(raw_id)
    null_id = "id" in message and raw_id is None  # JSON-RPC 2.0 §4: still a request (or answer)
    is_answer = message.get("method") is None and ("result" in message or "error" in message)
    if too_deep:
        return _too_deep(request_id, null_id=null_id, is_answer=is_answer)
    method = message.get("method")
    if method is not None:
        if not isinstance(method, str):
            raise MalformedMessage("`method` must be a string", request_id)
        params = message.get("params")
        if null_id:
            raise MalformedMessage(NULL_ID)
        if raw_id is None:
            return ClientNotification(method, params)
        if request_id is None:
            raise MalformedMessage("`id` must be a string or a 64-bit integer")
        return Request(request_id, method, params)
    if is_answer and null_id:
        return NullIdAnswer(message.get("error"))
    if is_answer and raw_id is not None:
        if request_id is None:
            raise MalformedMessage("`id` must be a string or a 64-bit integer")
        if "error" in message:
            return ErrorResponse(request_id, message["error"])
        return Response(request_id, message["result"])
    raise MalformedMessage(
        "a message needs `method` (request or notification) or `result`/`error`", request_id
    )


def _too_deep(request_id: RequestId | None, *, null_id: bool, is_answer: bool) -> Incoming:
    """A too-deep answer to one of our requests fails that request (answers are never
    answered); any other too-deep message is refused with its id when readable."""
    if is_answer and request_id is not None:
        return ErrorResponse(request_id, {"code": InvalidRequest.code, "message": TOO_DEEP})
    if is_answer and null_id:
        return NullIdAnswer(None)
    raise MalformedMessage(TOO_DEEP, request_id)
