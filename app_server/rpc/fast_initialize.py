"""`initialize` answered before the protocol models are imported (`app_server.startup`).

A stdio client's first line is `initialize`, and its answer is what a CLI user waits for. Through
the dispatcher it would first import pydantic and the ~400 generated protocol models (~200 ms);
this module answers the usual form of it with plain JSON instead, byte for byte what the
dispatcher would send (`tests/unit/test_fast_initialize.py` compares the two).

It only accepts what it can prove valid: `clientInfo` of strings, `capabilities` absent, null or
holding only `experimentalApi` (a boolean) and `optOutNotificationMethods` (strings, or null),
and no text that JSON writers might escape differently. Anything else returns None and goes
through the dispatcher like any request: never a wrong answer, only a slower one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from msgspec import Struct

from app_server.api.identity import platform_family, platform_os, user_agent
from app_server.rpc.incoming import Request, parse_message

if TYPE_CHECKING:
    from protocol.types import RequestId

_PARAMS_KEYS = frozenset({"clientInfo", "capabilities"})
_CLIENT_INFO_KEYS = frozenset({"name", "title", "version"})
_CAPABILITY_KEYS = frozenset({"experimentalApi", "optOutNotificationMethods"})
_ESCAPED = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Characters a JSON writer may escape in more than one way: such text takes the slow path."""


class FastInitialize(Struct, frozen=True):
    """An `initialize` answered here: the response line, and what the dispatcher adopts."""

    request_id: RequestId
    params: dict[str, Any]
    """The raw params (valid `InitializeParams`), for the dispatcher to record the handshake."""
    response: bytes
    """The whole response (one JSON text, no newline)."""
    opt_out: frozenset[str]
    """Notification methods the client opted out of."""


def answer_initialize(line: bytes, codex_home: Path) -> FastInitialize | None:
    """The answer to `line` if it is a plain `initialize` request, else None (module docs)."""
    try:
        message = parse_message(line)
    except Exception:  # malformed: the dispatcher answers it with the right error
        return None
    if not isinstance(message, Request) or message.method != "initialize":
        return None
    params = message.params
    home = str(codex_home)
    if not _plain_params(params) or not _plain_text(home) or not _plain_id(message.id):
        return None
    assert isinstance(params, dict)
    client = params["clientInfo"]
    result = {
        "codexHome": home,
        "platformFamily": platform_family(),
        "platformOs": platform_os(),
        "userAgent": user_agent(client["name"], client["version"]),
    }
    capabilities = params.get("capabilities") or {}
    return FastInitialize(
        request_id=message.id,
        params=params,
        response=orjson.dumps({"id": message.id, "result": result}),
        opt_out=frozenset(capabilities.get("optOutNotificationMethods") or ()),
    )


def _plain_text(value: object) -> bool:
    return isinstance(value, str) and _ESCAPED.search(value) is None


def _plain_id(value: object) -> bool:
    return isinstance(value, int) or _plain_text(value)


def _plain_params(params: object) -> bool:
    if not isinstance(params, dict) or not params.keys() <= _PARAMS_KEYS:
        return False
    client = params.get("clientInfo")
    if not isinstance(client, dict) or not client.keys() <= _CLIENT_INFO_KEYS:
        return False
    if not (_plain_text(client.get("name")) and _plain_text(client.get("version"))):
        return False
    if client.get("title") is not None and not _plain_text(client["title"]):
        return False
    capabilities = params.get("capabilities")
    if capabilities is None:
        return True
    if not isinstance(capabilities, dict) or not capabilities.keys() <= _CAPABILITY_KEYS:
        return False
    if not isinstance(capabilities.get("experimentalApi", False), bool):
        return False
    opt_out = capabilities.get("optOutNotificationMethods")
    return opt_out is None or (
        isinstance(opt_out, list) and all(isinstance(method, str) for method in opt_out)
    )
