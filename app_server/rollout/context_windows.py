"""Context windows: which model context a thread is in, and how it got there (STORAGE.md §3).

Every compaction ends one context window and starts the next. Window 0 is recorded in the
thread's `session_meta.context_window.window_id`; each `compacted` line records the new window's
`window_number`, `window_id`, `first_window_id` and `previous_window_id`. Requests carry the
number in `x-codex-window-id: <thread id>:<number>` and the UUID in the turn metadata.

Records written before these fields existed still load: a missing number is the previous one
plus one (compactions are counted), a numeric `window_id` is the number it used to mean, and an
id nobody wrote is derived from the thread id and number, so it is the same on every read.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from msgspec import Struct

from app_server.rollout.lines import WindowLineage

_DERIVED_NAMESPACE = uuid.UUID("6f0f4a52-3c1e-4c36-9d55-2a8f8d1c7a10")
"""Namespace of the ids derived for windows whose id was never recorded."""


def derived_window_id(thread_id: str, number: int) -> str:
    """A stable id for window `number` of a thread whose records do not name it."""
    return str(uuid.uuid5(_DERIVED_NAMESPACE, f"{thread_id}:{number}"))


class ContextWindow(Struct, frozen=True):
    """One context window of a thread and its lineage."""

    number: int
    window_id: str
    first_window_id: str
    previous_window_id: str | None = None

    @classmethod
    def initial(cls, window_id: str) -> ContextWindow:
        """Window 0 (its number, first id and previous id are derived, never written)."""
        return cls(0, window_id, window_id, None)

    @classmethod
    def from_session_meta(cls, thread_id: str, meta: Mapping[str, Any]) -> ContextWindow:
        """Window 0 as `session_meta` records it (derived if the record predates it)."""
        recorded = meta.get("context_window")
        window_id = recorded.get("window_id") if isinstance(recorded, Mapping) else None
        if not isinstance(window_id, str) or not window_id:
            window_id = derived_window_id(thread_id, 0)
        return cls.initial(window_id)

    def header_value(self, thread_id: str) -> str:
        """The `x-codex-window-id` header (and turn metadata `window_id`)."""
        return f"{thread_id}:{self.number}"

    def successor(self, window_id: str) -> ContextWindow:
        """The window a compaction starts after this one."""
        return ContextWindow(self.number + 1, window_id, self.first_window_id, self.window_id)

    def lineage_fields(self) -> WindowLineage:
        """The fields a `compacted` line records for this (new) window."""
        return {
            "window_number": self.number,
            "first_window_id": self.first_window_id,
            "previous_window_id": self.previous_window_id,
            "window_id": self.window_id,
        }

    def after_compacted(self, thread_id: str, payload: Mapping[str, Any]) -> ContextWindow:
        """The window a `compacted` line started, read leniently (see the module docstring)."""
        raw_id = payload.get("window_id")
        recorded = payload.get("window_number")
        number = self.number + 1
        if isinstance(recorded, int) and _is_count(recorded):
            number = recorded
        elif isinstance(raw_id, int) and _is_count(raw_id):
            number = raw_id
        window_id = raw_id if isinstance(raw_id, str) and raw_id else None
        first = payload.get("first_window_id")
        previous = payload.get("previous_window_id")
        return ContextWindow(
            number,
            window_id or derived_window_id(thread_id, number),
            first if isinstance(first, str) and first else self.first_window_id,
            previous if isinstance(previous, str) and previous else self.window_id,
        )


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
