"""History is a fold: rollout lines → thread metadata + the Turn/ThreadItem view.

`HistoryFold` consumes one thread's rollout lines in order (`feed`) and can be fed more lines
later (after appends) without starting over: nothing is recomputed from scratch, and no I/O
happens here. Its two halves are `thread_metadata.MetadataAccumulator` (what the index row
needs) and `turn_builder.TurnBuilder` (what `thread/read` and `thread/turns/list` show).

Lineage (STORAGE.md §3.6, PROTOCOL.md §12):
- A **paginated fork** stores only its own lines; its `session_meta.history_base`
  `{thread_id, end_ordinal_exclusive, end_byte_offset}` says its history starts with the base
  thread's lines up to that byte offset (recursively: the base may itself be a fork). The fold
  asks the `BaseLoader` callable it was given for those lines, so resolution (finding the file,
  live or archived, plain or `.zst`) stays outside. A base that cannot be loaded fails closed
  with `HistoryLineageError("invalid paginated history lineage for <base id>: missing source
  rollout")`; a base whose lines do not match the reference is rejected the same way rather than
  guessed at.
- A **legacy fork** copies the source's lines after its own `session_meta`; they fold like any
  other lines (the copied `session_meta` belongs to another thread and is ignored).
- A **sub-agent** with `subagent_history_start_ordinal: N` carries a copy of its parent's history
  (lines with ordinal < N, after a copy of the parent's `session_meta`); codex shows only the
  sub-agent's own lines, so lines below N are hidden from both turns and metadata.

Besides metadata and turns, the fold feeds a `HistoryIndexCollector` (`index`): where each of
the thread's own visible turns starts, and the message texts search matches. `keep_items=False`
folds for metadata and that index only, in memory proportional to one turn rather than the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from msgspec import Struct

from app_server.rollout.history_index import HistoryIndexCollector, TurnStart
from app_server.rollout.lines import JsonObject
from app_server.rollout.thread_metadata import (
    HistoryBase,
    MetadataAccumulator,
    ThreadMetadata,
    parse_history_base,
)
from app_server.rollout.turn_builder import TurnBuilder, TurnCheckpoint
from app_server.rollout.turn_entry import TurnEntry

RolloutLines = Iterable[tuple[int, JsonObject]]

BaseLoader = Callable[[str, int | None], RolloutLines | None]
"""`(base_thread_id, end_byte_offset)` → the base rollout's `(offset, record)` lines from the
start up to `end_byte_offset` (all lines when `None`), or `None` when the base has no rollout."""

MISSING_SOURCE_ROLLOUT = "missing source rollout"
MAX_LINEAGE_DEPTH = 64
"""Forks of forks deeper than this are treated as a broken (probably cyclic) lineage."""


class HistoryLineageError(Exception):
    """A paginated thread's history cannot be resolved; every history read must fail closed.

    The message is codex 0.169's: `invalid paginated history lineage for <id>: <reason>`.
    """

    def __init__(self, thread_id: str, reason: str) -> None:
        super().__init__(f"invalid paginated history lineage for {thread_id}: {reason}")
        self.thread_id = thread_id
        self.reason = reason


class _Segment(Struct):
    """The lines of one rollout file within the lineage (the thread's own file or a base)."""

    own: bool
    depth: int
    owner_id: str | None = None
    last_ordinal: int | None = None


class HistoryFold:
    """Resumable fold of one thread's rollout lines (see the module docstring).

    Feed the thread's own file with `feed`/`feed_lines`; base-thread lines of a paginated fork
    are pulled through `load_base` when the thread's first `session_meta` names a
    `history_base`. Read the results with `metadata()` and `turns()` at any point.
    """

    def __init__(
        self,
        load_base: BaseLoader | None = None,
        *,
        keep_items: bool = True,
        collect_index: bool = True,
    ) -> None:
        self._load_base = load_base
        self._meta = MetadataAccumulator()
        self._turns = TurnBuilder(keep_items=keep_items)
        self.index = HistoryIndexCollector()
        """Turn starts and searchable messages of the thread's own visible lines (left empty
        with `collect_index=False`, for reads that only want the turns)."""
        self._collect_index = collect_index
        self._own = _Segment(own=True, depth=0)
        self._hidden_before_ordinal: int | None = None
        self._last_offset: int | None = None
        self._lineage_error: HistoryLineageError | None = None

    # ---------------------------------------------------------------------------------------
    # Feeding

    def feed(self, offset: int, record: JsonObject) -> None:
        """Fold one line of the thread's own rollout (`offset` = its byte offset)."""
        self._last_offset = offset
        self._apply(record, self._own)

    def feed_lines(self, lines: RolloutLines) -> HistoryFold:
        """Fold every `(offset, record)` of the thread's own rollout; returns `self`."""
        for offset, record in lines:
            self.feed(offset, record)
        return self

    # ---------------------------------------------------------------------------------------
    # Results

    @property
    def thread_id(self) -> str | None:
        """The thread id (first `session_meta.id`), once seen."""
        return self._meta.thread_id

    @property
    def last_ordinal(self) -> int | None:
        """The highest ordinal read from the thread's own lines (paginated threads)."""
        return self._own.last_ordinal

    @property
    def last_offset(self) -> int | None:
        """Byte offset of the last own line fed (resume a read after it, not at it)."""
        return self._last_offset

    def metadata(self) -> ThreadMetadata:
        """The thread's metadata so far. Raises `ValueError` before its `session_meta`."""
        snapshot = self._meta.snapshot()
        if snapshot is None:
            raise ValueError("rollout has no session_meta")
        return snapshot

    @property
    def lineage_error(self) -> HistoryLineageError | None:
        """Why the history (not the metadata) is unreadable, if its lineage is broken."""
        return self._lineage_error

    def turns(self) -> list[TurnEntry]:
        """The visible turns so far, oldest first (`itemsView: full`).

        Raises `HistoryLineageError` when the lineage is broken (fail closed).
        """
        if self._lineage_error is not None:
            raise self._lineage_error
        return self._turns.snapshot()

    def stop_keeping_items(self) -> None:
        """Let the finished turns' items go, as `keep_items=False` would have (after `turns()`
        was taken for a read that wanted them)."""
        self._turns.stop_keeping_items()

    # ---------------------------------------------------------------------------------------
    # Internals

    def _apply(self, record: JsonObject, segment: _Segment) -> None:
        ordinal = record.get("ordinal")
        if isinstance(ordinal, int) and not isinstance(ordinal, bool):
            segment.last_ordinal = ordinal
        else:
            ordinal = None
        if record.get("type") == "session_meta":
            self._apply_session_meta(record, segment)
            return
        if (
            self._hidden_before_ordinal is not None
            and ordinal is not None
            and ordinal < self._hidden_before_ordinal
        ):
            return
        if record.get("type") == "response_item":
            # Half the lines of a rollout, and only their time counts: turns, the history index
            # and the other metadata read event lines, `turn_context` and `compacted` (issue 17).
            self._meta.apply_line_time(record, own=segment.own)
            return
        if segment.own and self._collect_index:
            self._apply_own(record, ordinal)
        else:
            self._turns.apply(record)
        self._meta.apply_line(record, own=segment.own)

    def _apply_own(self, record: JsonObject, ordinal: int | None) -> None:
        """Fold a visible line of the thread's own file, noting turn starts and messages."""
        turns = self._turns
        opened, counters = turns.opened_turns, turns.counters()  # a tuple: cheap on every line
        turns.apply(record)
        if turns.opened_turns != opened and turns.current_turn_id is not None:
            checkpoint = TurnCheckpoint(*counters)
            start = TurnStart(turns.current_turn_id, ordinal, self._last_offset or 0, checkpoint)
            self.index.turn_started(start)
        if turns.rolled_back:
            self.index.mark_unpageable()
            if _is_rollback(record):
                self.index.rolled_back(turns.closed_turns)
        self.index.line(record, turns.closed_turns)

    def _apply_session_meta(self, record: JsonObject, segment: _Segment) -> None:
        payload = record.get("payload")
        if not isinstance(payload, (dict, Mapping)) or not isinstance(payload.get("id"), str):
            return
        meta_id: str = payload["id"]
        first_of_segment = segment.owner_id is None
        if first_of_segment:
            segment.owner_id = meta_id
        if meta_id != segment.owner_id:
            return  # a copied session_meta of another thread (legacy fork, sub-agent)
        if segment.own:
            self._meta.apply_own_session_meta(payload, record.get("timestamp"))
        if not first_of_segment:
            return
        if segment.own:
            start = payload.get("subagent_history_start_ordinal")
            if isinstance(start, int) and not isinstance(start, bool):
                self._hidden_before_ordinal = start
                self.index.hidden_before_ordinal = start
        try:
            base = parse_history_base(payload.get("history_base"))
            if base is not None:
                self._fold_base(base, segment.depth + 1)
        except HistoryLineageError as error:
            self._lineage_error = self._lineage_error or error
        except ValueError as error:
            self._lineage_error = self._lineage_error or HistoryLineageError(meta_id, str(error))

    def _fold_base(self, base: HistoryBase, depth: int) -> None:
        self.index.mark_unpageable()  # part of the turns live in another file
        if depth > MAX_LINEAGE_DEPTH:
            raise HistoryLineageError(base.thread_id, "lineage is too deep or cyclic")
        lines = self._load_base(base.thread_id, base.end_byte_offset) if self._load_base else None
        if lines is None:
            raise HistoryLineageError(base.thread_id, MISSING_SOURCE_ROLLOUT)
        segment = _Segment(own=False, depth=depth)
        try:
            for _offset, record in lines:
                ordinal = record.get("ordinal")
                if (
                    base.end_ordinal_exclusive is not None
                    and isinstance(ordinal, int)
                    and ordinal >= base.end_ordinal_exclusive
                ):
                    break
                self._apply(record, segment)
        except FileNotFoundError as error:  # the base vanished between lookup and read
            raise HistoryLineageError(base.thread_id, MISSING_SOURCE_ROLLOUT) from error
        self._check_base(base, segment)

    @staticmethod
    def _check_base(base: HistoryBase, segment: _Segment) -> None:
        """Reject a base whose lines do not match the fork's reference (never guess)."""
        if segment.owner_id is None:
            raise HistoryLineageError(base.thread_id, "source rollout has no session_meta")
        if segment.owner_id != base.thread_id:
            raise HistoryLineageError(
                base.thread_id, f"source rollout belongs to thread {segment.owner_id}"
            )
        if segment.last_ordinal is None:
            raise HistoryLineageError(base.thread_id, "source rollout is not paginated")
        expected = base.end_ordinal_exclusive
        if expected is not None and segment.last_ordinal + 1 != expected:
            raise HistoryLineageError(
                base.thread_id,
                f"source history ends at ordinal {segment.last_ordinal}, expected {expected - 1}",
            )


def _is_rollback(record: JsonObject) -> bool:
    """Whether the line is a `thread_rolled_back` event (`thread/revert`)."""
    payload = record.get("payload")
    return (
        record.get("type") == "event_msg"
        and isinstance(payload, Mapping)
        and payload.get("type") == "thread_rolled_back"
    )


def fold_history(lines: RolloutLines, load_base: BaseLoader | None = None) -> HistoryFold:
    """Fold a whole rollout in one call (convenience for `HistoryFold(load_base).feed_lines`)."""
    return HistoryFold(load_base).feed_lines(lines)
