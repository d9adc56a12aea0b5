"""`TurnEntry`: one turn of a thread's history and where it starts in the rollout lineage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from protocol.types import Turn


@dataclass(frozen=True, slots=True)
class TurnEntry:
    """One turn of the folded history plus where it starts in the rollout lineage.

    `rollout_ordinal` is the ordinal of the turn's `task_started` line (paginated threads; it
    anchors 0.169's `thread/turns/list` cursors), `None` for legacy/implicit turns.
    `item_ordinals` maps an item id to the ordinal of the `item_completed` line that first
    recorded it (it anchors `thread/items/list` cursors); items of legacy events have none.
    """

    turn: Turn
    rollout_ordinal: int | None = None
    item_ordinals: Mapping[str, int] = field(default_factory=dict)
