"""Builders of the `event_msg` lines that record a turn's finished items (STORAGE.md §3.4).

How a finished item is recorded depends on the thread's history mode: a paginated thread writes
one `item_completed` line holding the core TurnItem (`core_items` builds it, `item_mapping` reads
it back); a legacy thread writes the older events instead (`user_message`, `agent_message`,
`agent_reasoning`, `context_compacted`, or a tool's event built by `core_items.legacy_*`), which
`legacy_items` reads back. The model-visible side of the same item is a `response_item`
(`model_lines`). Key order is part of the format: each builder writes its members in codex
0.169's order.
"""

from __future__ import annotations

from app_server.rollout.events import LegacyToolEvent
from app_server.rollout.items import CoreItem
from app_server.rollout.lines import EventLine
from protocol.types import (
    ImageUserInput,
    LocalImageUserInput,
    TextUserInput,
    UserMessageThreadItem,
)


def item_completed(
    thread_id: str, turn_id: str, item: CoreItem, started_at_ms: int, completed_at_ms: int
) -> EventLine:
    """A finished item of a paginated thread (a core TurnItem, see `core_items`)."""
    return {
        "type": "event_msg",
        "payload": {
            "type": "item_completed",
            "thread_id": thread_id,
            "turn_id": turn_id,
            "item": item,
            "started_at_ms": started_at_ms,
            "completed_at_ms": completed_at_ms,
        },
    }


def legacy_event(payload: LegacyToolEvent) -> EventLine:
    """A tool item's line in a legacy thread (`core_items.legacy_*` builds the payload)."""
    return {"type": "event_msg", "payload": payload}


def legacy_user_message(item: UserMessageThreadItem) -> EventLine:
    """A legacy `user_message` event: its text, and the image URLs and local image paths the
    legacy reader rebuilds the message's images from (an image given only by file id has no
    URL to list: codex's list holds strings)."""
    return {
        "type": "event_msg",
        "payload": {
            "type": "user_message",
            "message": "\n".join(v.text for v in item.content if isinstance(v, TextUserInput)),
            "images": [
                v.url for v in item.content if isinstance(v, ImageUserInput) and v.url is not None
            ],
            "local_images": [v.path for v in item.content if isinstance(v, LocalImageUserInput)],
            "audio": [],
            "local_audio": [],
            "text_elements": [],
        },
    }


def legacy_agent_message(text: str, phase: str | None) -> EventLine:
    return {
        "type": "event_msg",
        "payload": {
            "type": "agent_message",
            "message": text,
            "phase": phase,
            "memory_citation": None,
        },
    }


def legacy_agent_reasoning(text: str) -> EventLine:
    return {"type": "event_msg", "payload": {"type": "agent_reasoning", "text": text}}


def context_compacted() -> EventLine:
    """A legacy thread's record of a compaction item."""
    return {"type": "event_msg", "payload": {"type": "context_compacted"}}
