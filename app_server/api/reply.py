"""A handler's answer when something must follow the response (PROTOCOL.md §7 orderings).

Several methods announce their effect only after answering, e.g. `thread/start` → response, then
`thread/started`; `thread/archive` → `{}`, then `thread/archived`. A handler returns
`Reply(result, then=…)` and the dispatcher runs `then` right after queueing the response.

A reply can also carry a thread's turns already rendered as JSON (`turns_json`): the result's
`thread.turns` is left empty and the dispatcher puts them there while rendering, so a huge
history is never built into models just to be serialized (`render_response_with_turns`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from msgspec import Struct

from protocol.wire_model import WireModel


class Reply(Struct, frozen=True):
    """A result plus what to do once it is on its way to the client."""

    result: WireModel
    then: Callable[[], None] = lambda: None
    turns_json: Sequence[bytes] | None = None
    """The turns of `result.thread` as wire JSON, one per turn (its `turns` is left empty)."""
