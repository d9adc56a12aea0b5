"""How legacy UI events add items to the turns being folded (the legacy half of `TurnBuilder`).

Legacy threads (and older codex versions) record UI events instead of `item_completed`:
`user_message`, `agent_message`, `agent_reasoning`, tool begin/end, review mode, … Each becomes
an item as codex 0.169's legacy reducer makes it: message-like items get synthetic ids `item-1`,
`item-2`, … counted over the whole thread, tool items use their `call_id`, none has timestamps;
a `user_message` outside an explicit turn starts an implicit turn. `legacy_items` maps the
payloads; this module decides which turn each item joins. Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from app_server.rollout import legacy_items
from app_server.rollout.events import EventType
from app_server.rollout.lines import JsonObject
from app_server.rollout.pending_turn import PendingTurn
from app_server.rollout.rendered_items import RenderedItem
from protocol.types import ReasoningThreadItem, ThreadItem


class LegacyFoldTarget(Protocol):
    """What the legacy events need of the turn builder."""

    @property
    def current(self) -> PendingTurn | None:
        """The turn still open, if any."""

    def finish_current(self) -> None:
        """Close the open turn (kept if it has anything to show)."""

    def ensure_turn(self) -> PendingTurn:
        """The open turn, or a new implicit one."""

    def next_item_id(self) -> str:
        """The next synthetic item id (`item-N`)."""

    def upsert_in_turn(self, turn_id: Any, item: ThreadItem | None) -> None:
        """Put a tool item into the named turn when known, else the open turn."""


def _user_message(fold: LegacyFoldTarget, payload: JsonObject) -> None:
    current = fold.current
    if (
        current is not None
        and not current.opened_explicitly
        and not (current.saw_compaction and not current.items)
    ):
        fold.finish_current()
    item = legacy_items.legacy_user_message(fold.next_item_id(), payload)
    if item is not None:
        fold.ensure_turn().items.append(item)


def _agent_message(fold: LegacyFoldTarget, payload: JsonObject) -> None:
    if not payload.get("message"):
        return
    item = legacy_items.legacy_agent_message(fold.next_item_id(), payload)
    if item is not None:
        fold.ensure_turn().items.append(item)


def _reasoning_text(fold: LegacyFoldTarget, payload: JsonObject, *, raw: bool) -> None:
    """Reasoning text joins the turn's last item when that is reasoning, else starts one."""
    text = payload.get("text")
    if not isinstance(text, str) or not text:
        return
    items = fold.ensure_turn().items
    last = items[-1] if items else None
    if isinstance(last, RenderedItem) and last.type == "reasoning":
        last = last.model()  # an `item_completed` reasoning item, kept rendered
    if isinstance(last, ReasoningThreadItem):
        items[-1] = last.model_copy(
            update={"content": [*last.content, text]} if raw else {"summary": [*last.summary, text]}
        )
        return
    item_id = fold.next_item_id()
    summary, content = ([], [text]) if raw else ([text], [])
    items.append(ReasoningThreadItem(id=item_id, summary=summary, content=content))


def _agent_reasoning(fold: LegacyFoldTarget, payload: JsonObject) -> None:
    _reasoning_text(fold, payload, raw=False)


def _agent_reasoning_raw(fold: LegacyFoldTarget, payload: JsonObject) -> None:
    _reasoning_text(fold, payload, raw=True)


def _exec_begin(fold: LegacyFoldTarget, payload: JsonObject) -> None:
    item = legacy_items.legacy_command_execution(payload, completed=False)
    fold.upsert_in_turn(payload.get("turn_id"), item)


def _exec_end(fold: LegacyFoldTarget, payload: JsonObject) -> None:
    item = legacy_items.legacy_command_execution(payload, completed=True)
    fold.upsert_in_turn(payload.get("turn_id"), item)


def _patch_begin(fold: LegacyFoldTarget, payload: JsonObject) -> None:
    item = legacy_items.legacy_file_change(payload, completed=False)
    fold.upsert_in_turn(payload.get("turn_id"), item)


def _patch_end(fold: LegacyFoldTarget, payload: JsonObject) -> None:
    item = legacy_items.legacy_file_change(payload, completed=True)
    fold.upsert_in_turn(payload.get("turn_id"), item)


def _web_search_begin(fold: LegacyFoldTarget, payload: JsonObject) -> None:
    fold.upsert_in_turn(None, legacy_items.legacy_web_search(payload, completed=False))


def _web_search_end(fold: LegacyFoldTarget, payload: JsonObject) -> None:
    fold.upsert_in_turn(None, legacy_items.legacy_web_search(payload, completed=True))


def _mcp_begin(fold: LegacyFoldTarget, payload: JsonObject) -> None:
    fold.upsert_in_turn(None, legacy_items.legacy_mcp_tool_call(payload, completed=False))


def _mcp_end(fold: LegacyFoldTarget, payload: JsonObject) -> None:
    fold.upsert_in_turn(None, legacy_items.legacy_mcp_tool_call(payload, completed=True))


def _view_image(fold: LegacyFoldTarget, payload: JsonObject) -> None:
    fold.upsert_in_turn(None, legacy_items.legacy_image_view(payload))


def _context_compacted(fold: LegacyFoldTarget, _payload: JsonObject) -> None:
    item = legacy_items.legacy_context_compaction(fold.next_item_id())
    fold.ensure_turn().items.append(item)


def _entered_review(fold: LegacyFoldTarget, payload: JsonObject) -> None:
    item = legacy_items.legacy_entered_review(fold.next_item_id(), payload)
    fold.ensure_turn().items.append(item)


def _exited_review(fold: LegacyFoldTarget, payload: JsonObject) -> None:
    item = legacy_items.legacy_exited_review(fold.next_item_id(), payload)
    fold.ensure_turn().items.append(item)


LegacyEventHandler = Callable[[LegacyFoldTarget, JsonObject], None]

LEGACY_EVENT_HANDLERS: dict[EventType, LegacyEventHandler] = {
    "user_message": _user_message,
    "agent_message": _agent_message,
    "agent_reasoning": _agent_reasoning,
    "agent_reasoning_raw_content": _agent_reasoning_raw,
    "exec_command_begin": _exec_begin,
    "exec_command_end": _exec_end,
    "patch_apply_begin": _patch_begin,
    "patch_apply_end": _patch_end,
    "web_search_begin": _web_search_begin,
    "web_search_end": _web_search_end,
    "mcp_tool_call_begin": _mcp_begin,
    "mcp_tool_call_end": _mcp_end,
    "view_image_tool_call": _view_image,
    "context_compacted": _context_compacted,
    "entered_review_mode": _entered_review,
    "exited_review_mode": _exited_review,
}
"""The legacy events that add items, by event type."""
