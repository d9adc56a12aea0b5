"""Builders of the lines a resumed thread's model history is rebuilt from (STORAGE.md §3.2).

Everything model-visible is a `response_item`: the exact Responses item, tagged with its turn,
so a resumed thread re-sends byte-identical history. Beside it, the lines that change what that
history is: `compacted` (the replacement history after a compaction, and the context window it
starts) and `world_state` (the environment the model was last told about), which
`model_history` folds back; and the metadata line codex records before an inter-agent message
(our reader needs only the message itself). Key order is part of the format: each builder
writes its members in codex 0.169's order.
"""

from __future__ import annotations

from collections.abc import Sequence

from app_server.rollout.context_windows import ContextWindow
from app_server.rollout.lines import (
    CompactedLine,
    CompactedPayload,
    InterAgentMetadataLine,
    JsonObject,
    ResponseItemLine,
    WorldStateLine,
    WorldStatePayload,
)


def response_item(item: JsonObject, turn_id: str | None = None) -> ResponseItemLine:
    """A model-visible history item, tagged with its turn as codex does."""
    payload = dict(item)
    if turn_id is not None:
        payload["internal_chat_message_metadata_passthrough"] = {"turn_id": turn_id}
    return {"type": "response_item", "payload": payload}


def world_state(payload: WorldStatePayload) -> WorldStateLine:
    """A `world_state` line: a full snapshot or a merge patch (`world_state.WorldState`)."""
    return {"type": "world_state", "payload": payload}


def compacted(
    message: str,
    replacement_history: Sequence[JsonObject],
    window: ContextWindow,
    response_id: str | None,
) -> CompactedLine:
    """The `compacted` line: the summary, the history that replaces everything before it, and
    the context window it starts (0.169's fields)."""
    lineage = window.lineage_fields()
    payload: CompactedPayload = {
        "message": message,
        "replacement_history": list(replacement_history),
        "window_number": lineage["window_number"],
        "first_window_id": lineage["first_window_id"],
        "previous_window_id": lineage["previous_window_id"],
        "window_id": lineage["window_id"],
    }
    if response_id is not None:
        payload["compaction_response_id"] = response_id
    return {"type": "compacted", "payload": payload}


def inter_agent_metadata(trigger_turn: bool) -> InterAgentMetadataLine:
    """The line recorded just before an inter-agent message."""
    return {"type": "inter_agent_communication_metadata", "payload": {"trigger_turn": trigger_turn}}
