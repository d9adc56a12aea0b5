"""A handler's answer when something must follow the response (PROTOCOL.md §7 orderings).

Several methods announce their effect only after answering, e.g. `thread/start` → response, then
`thread/started`; `thread/archive` → `{}`, then `thread/archived`. A handler returns
`Reply(result, then=…)` and the dispatcher runs `then` right after queueing the response.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from protocol.wire_model import WireModel


@dataclass(frozen=True, slots=True)
class Reply:
    """A result plus what to do once it is on its way to the client."""

    result: WireModel
    then: Callable[[], None]
