"""World state: the model-visible environment a thread's context describes (STORAGE.md §3).

A thread tells the model about its environment (working directory, date, permissions…) with
context messages in its history. The `world_state` rollout lines record what those messages said,
so the next turn knows what changed without re-reading the messages: a full snapshot
(`{"full": true, "state": {…}}`) after the initial context and after every compaction, and
between them RFC 7386 JSON Merge Patches (`{"full": false, "state": <patch>}`), never empty.

History is written before its world-state record, so a crash between the two can only make the
next turn repeat an update the model already saw: harmless. The state is a JSON object without
nulls (a merge patch cannot say "set to null"); our snapshots never contain one. Pure functions
and one small tracker; no I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from app_server.rollout.lines import WorldStatePayload


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: `patch` applied to `target` (neither is modified; the result shares nothing
    mutable with `patch`)."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def same_json(left: Any, right: Any) -> bool:
    """JSON equality: unlike `==`, `true` is not `1` and `1` is not `1.0`."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same_json(v, right[k]) for k, v in left.items())
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same_json, left, right))
    return bool(left == right)


def merge_patch_between(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The smallest merge patch that turns `old` into `new` (`{}` when they are the same).
    Objects are patched key by key; any other changed value is replaced whole."""
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        if key in old and same_json(old[key], value):
            continue
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            patch[key] = merge_patch_between(before, value)
        else:
            patch[key] = copy.deepcopy(value)
    return patch


def world_state_payload(state: Mapping[str, Any], *, full: bool) -> WorldStatePayload:
    """The payload of a `world_state` rollout line."""
    return {"full": full, "state": copy.deepcopy(dict(state))}


class WorldState:
    """A thread's current world state, as its rollout records it.

    The writer side (`snapshot`, `update`) returns the payload to persist; the reader side
    (`replay`) folds persisted payloads. Both sides end in the same state, which is what lets a
    resumed thread diff against exactly what the model was last told.
    """

    __slots__ = ("state",)

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        self.state: dict[str, Any] | None = (
            copy.deepcopy(dict(state)) if state is not None else None
        )

    def snapshot(self, state: Mapping[str, Any]) -> WorldStatePayload:
        """Record a full snapshot (initial context, compaction); returns its payload."""
        payload = world_state_payload(state, full=True)
        self.state = copy.deepcopy(dict(payload["state"]))
        return payload

    def update(self, state: Mapping[str, Any]) -> WorldStatePayload | None:
        """Record `state` as a patch against the current one; None when nothing changed."""
        if self.state is None:
            return self.snapshot(state)
        patch = merge_patch_between(self.state, state)
        if not patch:
            return None
        self.state = merge_patch(self.state, patch)
        return {"full": False, "state": patch}

    def replay(self, payload: Mapping[str, Any]) -> None:
        """Fold one persisted `world_state` payload. A patch before any snapshot is ignored
        (nothing to apply it to); a malformed payload is skipped."""
        state = payload.get("state")
        if not isinstance(state, Mapping):
            return
        if payload.get("full") is True:
            self.state = copy.deepcopy(dict(state))
        elif self.state is not None:
            self.state = merge_patch(self.state, state)
