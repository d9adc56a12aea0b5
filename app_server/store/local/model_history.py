"""The model-visible history of a thread: what a resumed thread sends the model (AGENT_LOOP §2.3).

Every `response_item` line, in order, across the thread's lineage: a paginated fork's base lines
(up to its `history_base.end_byte_offset`, recursively) come first, then its own. That order is
exactly what the live thread sent, so a resumed thread re-sends byte-identical prefixes. The last
`token_count` gives the thread's running token totals. Pure: I/O happens in the loader.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app_server.store.interface import ModelHistory
from app_server.store.local.history import BaseLoader, HistoryLineageError
from app_server.store.local.thread_metadata import parse_history_base

MAX_LINEAGE_DEPTH = 64

ROLLOUT_ONLY_FIELDS = frozenset({"internal_chat_message_metadata_passthrough"})
"""Fields codex adds to `response_item` payloads for itself; the model never sees them, so the
history drops them once here instead of on every request."""


def model_item(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A `response_item` payload as the model is sent it."""
    return {k: v for k, v in payload.items() if k not in ROLLOUT_ONLY_FIELDS}


def collect_model_history(
    lines: Iterable[tuple[int, Mapping[str, Any]]],
    load_base: BaseLoader,
    *,
    history: ModelHistory | None = None,
    depth: int = 0,
) -> ModelHistory:
    """Fold one rollout's lines (and, first, its base's) into `history`."""
    history = history if history is not None else ModelHistory()
    first_meta = True
    for _, line in lines:
        kind = line.get("type")
        payload = line.get("payload")
        if not isinstance(payload, Mapping):
            continue
        if kind == "session_meta":
            if first_meta:
                first_meta = False
                instructions = payload.get("base_instructions")
                if isinstance(instructions, Mapping) and isinstance(instructions.get("text"), str):
                    history.base_instructions = instructions["text"]
                elif isinstance(instructions, str):
                    history.base_instructions = instructions
                version = payload.get("multi_agent_version")
                if depth == 0 and isinstance(version, str):
                    history.multi_agent_version = version
                base = parse_history_base(payload.get("history_base"))
                if base is not None:
                    if depth >= MAX_LINEAGE_DEPTH:
                        raise HistoryLineageError(base.thread_id, "lineage too deep")
                    base_lines = load_base(base.thread_id, base.end_byte_offset)
                    if base_lines is None:
                        raise HistoryLineageError(base.thread_id, "missing source rollout")
                    collect_model_history(base_lines, load_base, history=history, depth=depth + 1)
        elif kind == "response_item":
            history.items.append(model_item(payload))
        elif kind == "compacted" and isinstance(payload.get("replacement_history"), list):
            history.items = [model_item(item) for item in payload["replacement_history"]]
        elif kind == "event_msg" and payload.get("type") == "token_count":
            info = payload.get("info")
            if isinstance(info, Mapping) and isinstance(info.get("total_token_usage"), Mapping):
                history.token_totals = {
                    str(k): int(v)
                    for k, v in info["total_token_usage"].items()
                    if isinstance(v, int)
                }
    return history
