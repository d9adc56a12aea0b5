"""Who started a turn: a client (`turn/start`) or another agent (a sub-agent's task)."""

from __future__ import annotations

from msgspec import Struct


class TurnOrigin(Struct, frozen=True):
    """What a new turn records about its cause (`task_started.turn_attribution`)."""

    root_turn_id: str | None
    """The first turn of the chain (None: the new turn is its own root); a sub-agent's turns
    carry the root turn of the parent turn that started them."""
    originator: str
    """The client (or, for a sub-agent, the parent's originator) sent to the model provider."""
    parent_turn_id: str | None = None
    initiating_agent_path: str | None = None
