"""Server→client notifications, serialized once however many connections receive them.

A turn streaming 20,000 deltas to five subscribers must not serialize each delta five times, so a
`Notification` renders its JSON line lazily and caches it, once per flavour: connections that set
`experimentalApi` get experimental fields, the others get them stripped (PROTOCOL.md §2.4).

The streaming deltas are most of a turn's notifications, so they skip the pydantic envelope:
the types `FLAT_DELTA_TYPE_NAMES` names are rendered with orjson from their fields, byte for
byte what pydantic writes (`tests/unit/test_notification_rendering.py`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import orjson

from protocol import types as wire
from protocol.jsonrpc import JsonRpcResponse, JsonRpcServerNotification
from protocol.methods import NOTIFICATION_METHODS
from protocol.types import RequestId
from protocol.wire_model import EXPERIMENTAL_CONTEXT_KEY, WireModel

_STABLE_CONTEXT = {EXPERIMENTAL_CONTEXT_KEY: False}
_EXPERIMENTAL_CONTEXT = {EXPERIMENTAL_CONTEXT_KEY: True}

FLAT_DELTA_TYPE_NAMES: frozenset[str] = frozenset(
    {
        "AgentMessageDeltaNotification",
        "CommandExecutionOutputDeltaNotification",
        "FileChangeOutputDeltaNotification",
        "PlanDeltaNotification",
        "ReasoningSummaryTextDeltaNotification",
        "ReasoningTextDeltaNotification",
    }
)
"""Params of the streaming notifications: only string and integer fields, none experimental.
They are rendered with orjson from their fields (about 1.5 µs a delta, against about 4 µs
through the pydantic envelope), the same bytes for every connection flavour. Named, not
imported: each class is created when its first delta is, not with this module (a first turn
streams only agent-message deltas)."""

_flat_keys: dict[type[WireModel], tuple[tuple[str, str], ...] | None] = {}
"""Per params type: its (field name, wire name) pairs if it is a flat delta, else None."""


def flat_delta_types() -> tuple[type[WireModel], ...]:
    """The classes `FLAT_DELTA_TYPE_NAMES` names (creating them)."""
    return tuple(getattr(wire, name) for name in sorted(FLAT_DELTA_TYPE_NAMES))


def _flat_keys_of(params_type: type[WireModel]) -> tuple[tuple[str, str], ...] | None:
    try:
        return _flat_keys[params_type]
    except KeyError:
        pass
    keys = None
    if (
        params_type.__name__ in FLAT_DELTA_TYPE_NAMES
        and getattr(wire, params_type.__name__, None) is params_type
    ):
        keys = tuple(
            (name, field.alias or name) for name, field in params_type.model_fields.items()
        )
    _flat_keys[params_type] = keys
    return keys


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


TURNS_PLACEHOLDER = b'"turns":[]'
"""Where `render_response_with_turns` puts the turns: a key can only be followed by `:` after
its closing quote and a string's own quotes are escaped, so these bytes occur only as the key
`turns` with an empty list, which in these responses is `thread.turns` alone."""


def render_response_with_turns(
    request_id: RequestId, result: WireModel, turns: Sequence[bytes], *, experimental: bool
) -> bytes:
    """`render_response` of a result whose `thread.turns` is empty, with `turns` (each one
    turn's wire JSON, see `rollout.turn_entry`) placed there, in one piece (the pieces of
    `response_parts_with_turns` joined)."""
    return b"".join(response_parts_with_turns(request_id, result, turns, experimental=experimental))


def response_parts_with_turns(
    request_id: RequestId, result: WireModel, turns: Sequence[bytes], *, experimental: bool
) -> list[bytes]:
    """The JSON text of `render_response_with_turns` as consecutive pieces (the turns' own
    bytes among them, not copied): a transport that writes them one after another never holds
    a joined copy, so a huge history costs about its JSON once at the peak, and no model of
    any turn. Turns have no experimental fields, so the pieces suit every connection."""
    empty = render_response(request_id, result, experimental=experimental)
    at = empty.find(TURNS_PLACEHOLDER)
    if at < 0 or empty.find(TURNS_PLACEHOLDER, at + 1) >= 0:
        raise ValueError("the response must hold exactly one empty `turns` list")
    pieces: list[bytes] = [empty[:at] + b'"turns":[']
    for index, turn in enumerate(turns):
        if index:
            pieces.append(b",")
        pieces.append(turn)
    pieces.append(b"]" + empty[at + len(TURNS_PLACEHOLDER) :])
    return pieces


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
        if cached is None and (keys := _flat_keys_of(type(self.params))) is not None:
            params = self.params
            cached = orjson.dumps(
                {
                    "method": self.method,
                    "params": {alias: getattr(params, name) for name, alias in keys},
                    "emittedAtMs": self.emitted_at_ms,
                }
            )
            self._rendered[0] = self._rendered[1] = cached
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
    model = type(params)
    method = NOTIFICATION_METHODS.get(model.__name__)
    if method is not None and getattr(wire, model.__name__, None) is model:
        return method
    raise TypeError(f"{model.__name__} is not the params of exactly one notification method")


def notification(params: WireModel, *, method: str | None = None) -> Notification:
    """The notification these params belong to. `method` only for a params type several
    methods share, or a second name for the same event (see `method_of`)."""
    return Notification(method or method_of(params), params)
