"""The one place that turns exceptions into JSON-RPC error objects.

Typed `RpcError`s carry their code and a message meant for people; a store's refusal is answered
from the table in `app_server.rpc.store_errors` (its text can depend on the method); pydantic
validation failures become -32602 naming the offending field; anything unexpected becomes -32603
with a generic text (the traceback goes to the log, never to the client).
"""

from __future__ import annotations

import logging
import re

import orjson
from pydantic import ValidationError

from app_server.errors import InternalError, InvalidParams, RpcError
from app_server.rpc.store_errors import store_rpc_error
from protocol.types import RequestId

log = logging.getLogger(__name__)

MAX_REPORTED_VALIDATION_ERRORS = 3
"""How many validation problems one error message lists (the rest are counted, not listed)."""

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def as_rpc_error(exc: BaseException, method: str | None = None) -> RpcError:
    """Map any exception raised while serving a request (of `method`, when known) to the error
    the client receives."""
    if isinstance(exc, RpcError):
        return exc
    if (stored := store_rpc_error(exc, method)) is not None:
        return stored
    if isinstance(exc, ValidationError):
        return invalid_params(exc)
    log.error("internal error while serving a request", exc_info=exc)
    return InternalError("Internal error: the server failed to handle this request")


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
            detail = f"{detail} (got {_short_repr(error['input'])})"
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


def _short_repr(value: object, limit: int = 60) -> str:
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_error(request_id: RequestId | None, error: RpcError) -> bytes:
    """The JSON text of an error response (`id` null when the request's id was unreadable)."""
    body = {"code": error.code, "message": error.message}
    return orjson.dumps({"id": request_id, "error": body})
