"""The items tools show clients, built once in codex's core shape and derived for the wire.

A tool builds its item as a codex *core* TurnItem (`CommandExecution`, `FileChange`, …) with
`app_server.rollout.core_items` — the shape the rollout keeps (STORAGE.md §3.4) — and the wire
`ThreadItem` it streams is derived from that same dict by the reader's own mapping
(`rollout.item_mapping`), so what a client sees live is, field for field, what `thread/read`
returns after a restart.
"""

from __future__ import annotations

from app_server.agent.tools.registry import ToolContext, ToolItem
from app_server.notification import now_ms
from app_server.rollout.events import LegacyToolEvent
from app_server.rollout.item_mapping import thread_item_from_core
from app_server.rollout.items import CoreItem
from protocol.types import ItemCompletedNotification, ItemStartedNotification, ThreadItem


def wire_item(core: CoreItem, started_at_ms: int, completed_at_ms: int | None) -> ThreadItem:
    item = thread_item_from_core(core, started_at_ms=started_at_ms, completed_at_ms=completed_at_ms)
    if item is None:  # a bug in a builder below, not bad input
        raise ValueError(f"core item {core.get('type')} has no wire form: {core!r}")
    return item


def publish_started(context: ToolContext, core: CoreItem) -> int:
    """`item/started` for an in-progress core item; returns its start time."""
    started = now_ms()
    context.publish(
        ItemStartedNotification(
            thread_id=context.thread_id,
            turn_id=context.turn_id,
            started_at_ms=started,
            item=wire_item(core, started, None),
        ),
    )
    return started


def publish_completed(
    context: ToolContext, core: CoreItem, started: int, legacy: LegacyToolEvent | None
) -> ToolItem:
    """`item/completed` for a finished core item; returns what the rollout records."""
    completed = now_ms()
    context.publish(
        ItemCompletedNotification(
            thread_id=context.thread_id,
            turn_id=context.turn_id,
            completed_at_ms=completed,
            item=wire_item(core, started, completed),
        ),
    )
    return ToolItem(core, legacy, started, completed)
