"""`TurnEntry`: one turn of a thread's history and where it starts in the rollout lineage.

A history read of a huge thread holds thousands of turns; as pydantic models they cost about
2.5 times their JSON (every model has a `__dict__` and a fields-set), so a finished turn is kept
as its wire JSON only (`from_json`). That JSON is what the answer is made of anyway: `thread/read`
and `thread/resume` splice it into the response as is (`turn_json`) instead of building models
to serialize them again. Code that wants the model asks `turn`, which parses the JSON on each
access (nothing is cached, so walking a whole history never holds it twice).

`Turn` has no experimental fields anywhere in its tree (`tests/unit/test_turn_json.py` keeps it
so), so one rendering serves every kind of connection.
"""

from __future__ import annotations

from collections.abc import Mapping

from protocol.types import Turn


def render_turn(turn: Turn) -> bytes:
    """The turn's compact wire JSON, byte for byte what a response containing it would hold."""
    return Turn.__pydantic_serializer__.to_json(turn)


_set_slot = object.__setattr__


class TurnEntry:
    """One turn of the folded history plus where it starts in the rollout lineage.

    `rollout_ordinal` is the ordinal of the turn's `task_started` line (paginated threads; it
    anchors 0.169's `thread/turns/list` cursors), `None` for legacy/implicit turns.
    `item_ordinals` maps an item id to the ordinal of the `item_completed` line that first
    recorded it (it anchors `thread/items/list` cursors); items of legacy events have none.
    Immutable; equal when the turns' JSON and the positions are.
    """

    __slots__ = ("_json", "_turn", "item_ordinals", "rollout_ordinal", "turn_id")

    def __init__(
        self,
        turn: Turn,
        rollout_ordinal: int | None = None,
        item_ordinals: Mapping[str, int] | None = None,
    ) -> None:
        self._turn: Turn | None = turn
        self._json: bytes | None = None
        self.turn_id: str = turn.id
        self.rollout_ordinal = rollout_ordinal
        self.item_ordinals: Mapping[str, int] = item_ordinals if item_ordinals is not None else {}

    @classmethod
    def from_json(
        cls,
        turn_json: bytes,
        *,
        turn_id: str,
        rollout_ordinal: int | None = None,
        item_ordinals: Mapping[str, int] | None = None,
    ) -> TurnEntry:
        """An entry kept as the turn's wire JSON (`render_turn`), its model built on demand."""
        entry = cls.__new__(cls)
        # Thousands of entries per history read: set the slots directly, not through the
        # immutability check of `__setattr__`.
        _set_slot(entry, "_turn", None)
        _set_slot(entry, "_json", turn_json)
        _set_slot(entry, "turn_id", turn_id)
        _set_slot(entry, "rollout_ordinal", rollout_ordinal)
        _set_slot(entry, "item_ordinals", item_ordinals if item_ordinals is not None else {})
        return entry

    @property
    def turn(self) -> Turn:
        """The wire turn (parsed anew from the JSON of a compact entry on every access)."""
        if self._turn is not None:
            return self._turn
        assert self._json is not None
        return Turn.model_validate_json(self._json)

    def turn_json(self) -> bytes:
        """The turn's compact wire JSON (rendered once for an entry that holds a model)."""
        if self._json is None:
            assert self._turn is not None
            self._json = render_turn(self._turn)
        return self._json

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TurnEntry):
            return NotImplemented
        return (
            self.rollout_ordinal == other.rollout_ordinal
            and dict(self.item_ordinals) == dict(other.item_ordinals)
            and self.turn_json() == other.turn_json()
        )

    __hash__ = None  # type: ignore[assignment]  # equal by value, like the dataclass it was

    def __setattr__(self, name: str, value: object) -> None:
        if name == "_json" or not hasattr(self, name):  # first assignment, or the render cache
            object.__setattr__(self, name, value)
            return
        raise AttributeError(f"TurnEntry is immutable: cannot set {name}")

    def __repr__(self) -> str:
        return (
            f"TurnEntry(turn_id={self.turn_id!r}, rollout_ordinal={self.rollout_ordinal!r}, "
            f"items={len(self.item_ordinals)} with ordinals)"
        )
