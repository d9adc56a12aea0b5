"""Server→client notifications, serialized once however many connections receive them.

A turn streaming 20,000 deltas to five subscribers must not serialize each delta five times, so a
`Notification` renders its JSON line lazily and caches it, once per flavour: connections that set
`experimentalApi` get experimental fields, the others get them stripped (PROTOCOL.md §2.4).
"""

from __future__ import annotations

import time

from protocol.jsonrpc import JsonRpcResponse, JsonRpcServerNotification
from protocol.methods import NOTIFICATION_METHODS
from protocol.types import RequestId
from protocol.wire_model import EXPERIMENTAL_CONTEXT_KEY, WireModel

_STABLE_CONTEXT = {EXPERIMENTAL_CONTEXT_KEY: False}
_EXPERIMENTAL_CONTEXT = {EXPERIMENTAL_CONTEXT_KEY: True}


def now_ms() -> int:
    """Unix time in milliseconds, the unit of every `…Ms` field on the wire."""
    return time.time_ns() // 1_000_000


def render_model(model: WireModel, *, experimental: bool) -> bytes:
    """Compact camelCase JSON of a wire model, experimental fields kept only if asked."""
    context = _EXPERIMENTAL_CONTEXT if experimental else _STABLE_CONTEXT
    return type(model).__pydantic_serializer__.to_json(model, context=context)


def render_response(request_id: RequestId, result: WireModel, *, experimental: bool) -> bytes:
    """The whole JSON text of a successful response, serialized in one pass (a `thread/read`
    of a huge thread is tens of MB: no intermediate copy is made)."""
    return render_model(JsonRpcResponse(id=request_id, result=result), experimental=experimental)


class Notification:
    """One notification (`method`, `params`, `emittedAtMs`) and its cached JSON renderings."""

    __slots__ = ("_rendered", "emitted_at_ms", "method", "params")

    def __init__(self, method: str, params: WireModel, emitted_at_ms: int | None = None) -> None:
        self.method = method
        self.params = params
        self.emitted_at_ms = now_ms() if emitted_at_ms is None else emitted_at_ms
        self._rendered: list[bytes | None] = [None, None]

    def render(self, *, experimental: bool) -> bytes:
        """The JSON text of the whole message for a connection of the given flavour."""
        index = 1 if experimental else 0
        cached = self._rendered[index]
        if cached is None:
            envelope = JsonRpcServerNotification(
                method=self.method, params=self.params, emitted_at_ms=self.emitted_at_ms
            )
            cached = render_model(envelope, experimental=experimental)
            self._rendered[index] = cached
        return cached

    def __repr__(self) -> str:
        return f"Notification({self.method!r})"


def method_of(params: WireModel) -> str:
    """The notification method whose params are of this type (the generated registry's
    `NOTIFICATION_METHODS`), so a sender cannot pair params with the wrong method. A type no
    method or several methods use is a bug in the sender: TypeError."""
    try:
        return NOTIFICATION_METHODS[type(params)]
    except KeyError:
        raise TypeError(
            f"{type(params).__name__} is not the params of exactly one notification method"
        ) from None


def notification(params: WireModel, *, method: str | None = None) -> Notification:
    """The notification these params belong to. `method` only for a params type several
    methods share, or a second name for the same event (see `method_of`)."""
    return Notification(method or method_of(params), params)
