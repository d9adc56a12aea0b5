"""The one place that turns exceptions into JSON-RPC error objects.

Typed `RpcError`s carry their code and a message meant for people; a store's refusal is answered
from the table in `app_server.rpc.store_errors` (its text can depend on the method); pydantic
validation failures become -32602 naming the offending field; anything unexpected becomes -32603
with a generic text. A -32603 is a bug of ours, never the answer to bad input (handlers check
what a client can get wrong and raise a typed error naming the field): it is logged with the
request's method and id and the traceback, never with the params, and the client gets no details.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator

import orjson
from pydantic import ValidationError

from app_server.errors import InternalError, InvalidParams, RpcError
from app_server.rpc.store_errors import store_rpc_error
from protocol.types import RequestId

log = logging.getLogger(__name__)

MAX_REPORTED_VALIDATION_ERRORS = 3
"""How many validation problems one error message lists (the rest are counted, not listed)."""

SHORT_REPR_CHARS = 60
"""How much of an offending value an error message quotes."""

MAX_LOGGED_LINE_CHARS = 500
"""Longest line of a logged traceback: an exception's text may quote a client's value (a 1 MB
path), which the log must not copy whole."""

MAX_QUOTED_INT_BITS = 128
"""Larger integers are not quoted: no JSON id or param has one, and converting a huge integer to
text is slow (Python refuses beyond 4,300 digits)."""

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def as_rpc_error(
    exc: BaseException, *, method: str | None = None, request_id: RequestId | None = None
) -> RpcError:
    """Map any exception raised while serving a request to the error the client receives.

    `method` and `request_id` name the request in the log when the exception is a bug of ours.
    """
    if isinstance(exc, RpcError):
        return exc
    if (stored := store_rpc_error(exc, method)) is not None:
        return stored
    if isinstance(exc, ValidationError):
        return invalid_params(exc)
    log.error(
        "internal error while serving %s (id %s): %s",
        method or "a message",
        short_repr(request_id),
        _traceback_text(exc),
    )
    return InternalError("Internal error: the server failed to handle this request")


def _traceback_text(exc: BaseException) -> str:
    lines = traceback.format_exception(exc)
    return "".join(
        line if len(line) <= MAX_LOGGED_LINE_CHARS else line[:MAX_LOGGED_LINE_CHARS] + "…\n"
        for line in lines
    ).rstrip("\n")


def invalid_params(exc: ValidationError) -> InvalidParams:
    """A -32602 whose message names each offending field, e.g. `threadId: Field required`."""
    errors = exc.errors(include_url=False)
    parts = []
    for error in errors[:MAX_REPORTED_VALIDATION_ERRORS]:
        location = _location(error["loc"])
        detail = error["msg"]
        if error["type"] == "missing":
            detail = "missing field"
        elif "input" in error and error["type"] not in ("extra_forbidden",):
            detail = f"{detail} (got {short_repr(error['input'])})"
        parts.append(f"`{location}`: {detail}" if location else detail)
    more = len(errors) - MAX_REPORTED_VALIDATION_ERRORS
    if more > 0:
        parts.append(f"and {more} more problem(s)")
    return InvalidParams("Invalid params: " + "; ".join(parts))


def _location(loc: tuple[int | str, ...]) -> str:
    """`('input', 0, 'text')` → `input[0].text`; union member labels are left out."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _FIELD_NAME.match(part) and not part[:1].isupper():
            out += f".{part}" if out else part
    return out


class _Punctuation(str):
    """Text `short_repr` emits as it is (brackets, commas, keys), not as a JSON value."""


def short_repr(value: object, limit: int = SHORT_REPR_CHARS) -> str:
    """`value` as JSON text cut to `limit` characters, e.g. `[1,[2,"x"]]` or `{"a":[1,2,3…`.

    Bounded whatever the value: containers are opened lazily from an explicit stack (no
    recursion), and rendering stops once `limit` characters are out, so a 1000-deep or
    million-element value costs what its first `limit` characters cost.
    """
    parts: list[str] = []
    length = 0
    stack: list[Iterator[object]] = [iter((value,))]
    while stack and length <= limit:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
            continue
        if isinstance(item, _Punctuation):
            piece = str(item)
        elif isinstance(item, dict):
            piece = "{"
            stack.append(_object_parts(item, limit))
        elif isinstance(item, list | tuple):
            piece = "["
            stack.append(_array_parts(item))
        else:
            piece = _scalar(item, limit)
        parts.append(piece)
        length += len(piece)
    text = "".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_END = object()


def _array_parts(items: list[object] | tuple[object, ...]) -> Iterator[object]:
    for index, item in enumerate(items):
        if index:
            yield _Punctuation(",")
        yield item
    yield _Punctuation("]")


def _object_parts(items: dict[object, object], limit: int) -> Iterator[object]:
    for index, (key, item) in enumerate(items.items()):
        yield _Punctuation(("," if index else "") + _scalar(str(key), limit) + ":")
        yield item
    yield _Punctuation("}")


def _scalar(value: object, limit: int) -> str:
    """A scalar as JSON (strings cut before encoding); other objects by their type's name."""
    if isinstance(value, str):
        return orjson.dumps(value[: limit + 1]).decode()
    if value is None or isinstance(value, bool | float):
        return orjson.dumps(value).decode()
    if isinstance(value, int):
        return str(value) if value.bit_length() <= MAX_QUOTED_INT_BITS else "<large integer>"
    return f"<{type(value).__name__}>"


def render_error(request_id: RequestId | None, error: RpcError) -> bytes:
    """The JSON text of an error response (`id` null when the request's id was unreadable)."""
    body: dict[str, object] = {"code": error.code, "message": error.message}
    if error.data is not None:
        body["data"] = error.data
    return orjson.dumps({"id": request_id, "error": body})
