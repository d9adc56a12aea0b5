"""`thread/inject_items`: raw Responses API items appended to a loaded thread's model history
without a turn, as codex 0.169 appends them (checked against the binary).

Each item is checked the way codex's deserializer checks it (a `type`, and the fields its kind
requires: `items[i] is not a valid response item: missing field `role``); a kind codex does not
know is dropped, as codex drops it. Messages, function calls and their outputs without an `id`
get one (`msg_`, `fc_`, `fco_` + a UUIDv7). The items are written to the rollout as
`response_item` lines under a pseudo turn id `auto-compact-<n>` (codex's), flushed, and joined
to the in-memory history, so the next turn sends them and a resumed thread reads them back. No
notification is sent; the answer is `{}`.

Refused while a turn runs (the turn's own history would be reordered under it). A thread whose
model has not had its first turn yet gets the harness context at that turn, after the injected
items (codex writes it before them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app_server.agent.request_builder import strip_internal
from app_server.agent.review.messages import holds_no_context
from app_server.errors import Conflict, InvalidRequest
from app_server.ids import uuid7
from app_server.rollout import model_lines
from app_server.threads.manager import ThreadManager
from app_server.threads.token_replay import load_model_history

REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "message": ("role", "content"),
    "reasoning": ("summary",),
    "local_shell_call": ("status", "action"),
    "function_call": ("name", "arguments", "call_id"),
    "function_call_output": ("call_id", "output"),
    "custom_tool_call": ("call_id", "name", "input"),
    "custom_tool_call_output": ("call_id", "output"),
    "web_search_call": (),
    "image_generation_call": ("id", "status", "result"),
    "compaction": ("encrypted_content",),
}
"""The Responses item kinds codex keeps, each with the fields its deserializer requires (in the
order it reports them missing)."""

ID_PREFIXES = {"message": "msg_", "function_call": "fc_", "function_call_output": "fco_"}
"""The kinds codex gives an id when the client sent none, and the id's prefix."""

PSEUDO_TURN_PREFIX = "auto-compact-"
"""The turn id codex tags injected items with (`auto-compact-<n>`, n counting injections)."""


def checked_items(items: Sequence[Any]) -> list[dict[str, Any]]:
    """The items to append (unknown kinds dropped, ids filled in); `InvalidRequest` naming the
    first item codex would refuse."""
    if not items:
        raise InvalidRequest("items must not be empty")
    kept: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidRequest(
                f"items[{index}] is not a valid response item: invalid type: expected "
                "internally tagged enum ResponseItem"
            )
        kind = item.get("type")
        if not isinstance(kind, str):
            raise InvalidRequest(
                f"items[{index}] is not a valid response item: missing field `type`"
            )
        required = REQUIRED_FIELDS.get(kind)
        if required is None:  # codex's catch-all variant: not history
            continue
        for name in required:
            if name not in item:
                raise InvalidRequest(
                    f"items[{index}] is not a valid response item: missing field `{name}`"
                )
        prefix = ID_PREFIXES.get(kind)
        if prefix is not None and not item.get("id"):
            item = {**item, "id": f"{prefix}{uuid7()}"}
        kept.append(item)
    return kept


async def inject_items(manager: ThreadManager, thread_id: str, items: Sequence[Any]) -> None:
    """Check, persist and append `items` to the loaded thread's history (module docstring)."""
    thread = manager.require_loaded(thread_id)
    kept = checked_items(items)
    active = thread.active_turn
    if active is not None and not active.finished:
        raise Conflict(
            f"thread {thread.id} has an active turn ({active.turn_id}); inject items when it "
            "has finished"
        )
    if not kept:
        return
    writer = await manager.writer_for(thread)
    history = await load_model_history(manager, thread)
    if holds_no_context(history.items):  # no model turn yet
        thread.injected_before_context = True
    pseudo_turn = f"{PSEUDO_TURN_PREFIX}{thread.injections}"
    thread.injections += 1
    if writer is not None:
        writer.append([model_lines.response_item(item, pseudo_turn) for item in kept])
        await writer.flush()
    history.items.extend(strip_internal(item) for item in kept)
