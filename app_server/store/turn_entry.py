"""`TurnEntry`: one turn of a thread's history and where it starts in the rollout lineage."""

from __future__ import annotations

from dataclasses import dataclass

from protocol.types import Turn


@dataclass(frozen=True, slots=True)
class TurnEntry:
    """One turn of the folded history plus where it starts in the rollout lineage.

    `rollout_ordinal` is the ordinal of the turn's `task_started` line (paginated threads; it
    anchors 0.169's `thread/turns/list` cursors), `None` for legacy/implicit turns.
    """

    turn: Turn
    rollout_ordinal: int | None = None
