"""The JSON-RPC 2.0 envelope as codex 0.169 speaks it: no `jsonrpc` member, ids echoed verbatim.

The server classifies incoming text itself (see `app_server.rpc.incoming`) because it must answer
malformed input precisely; these models describe the envelope for typing, for the generated
JSON Schema, and for clients written in Python.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from protocol.types import RequestId
from protocol.wire_model import Int64, WireModel, omit_none


class JsonRpcErrorObject(WireModel):
    """The `error` member of a failed response."""

    code: Int64
    message: str
    data: Any = Field(default=None, exclude_if=omit_none)


class JsonRpcRequest(WireModel):
    """A request, from the client (methods) or from the server (approvals, tool calls)."""

    id: RequestId
    method: str
    params: Any = Field(default=None, exclude_if=omit_none)


class JsonRpcNotification(WireModel):
    """A message that is never answered."""

    method: str
    params: Any = Field(default=None, exclude_if=omit_none)


class JsonRpcServerNotification(JsonRpcNotification):
    """A notification from the server: always stamped with the time it was emitted."""

    emitted_at_ms: Int64


class JsonRpcResponse(WireModel):
    """A successful answer to a request with the same id."""

    id: RequestId
    result: Any


class JsonRpcError(WireModel):
    """A failed answer; `id` is null when the request's id could not be read."""

    id: RequestId | None
    error: JsonRpcErrorObject
