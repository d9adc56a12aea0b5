"""`MemoryThreadStore`: the ThreadStore contract kept in memory.

The in-memory twin of `LocalThreadStore`, as codex-rs's thread store has one: it holds each
thread's rollout lines in a list, wrapped in the same envelopes (`rollout.envelope`) and folded
with the same `rollout.history.HistoryFold` the local store uses, and answers `thread/list` with
the same filters, order and cursors, in plain Python. It passes the same contract tests, which
keeps the contract honest (nothing in it depends on files, SQLite or `store/local/`) and gives
the layers above a fast store for their tests. Nothing survives the process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from msgspec import Struct, field
from msgspec.structs import replace

from app_server.notification import now_ms
from app_server.rollout.envelope import envelope, format_timestamp_ms
from app_server.rollout.history import HistoryFold
from app_server.rollout.lines import HistoryMode, RolloutLine, StoredLine
from app_server.rollout.model_history import ModelHistory, collect_model_history
from app_server.store.compression_report import CompressionReport
from app_server.store.errors import ThreadAlreadyStored
from app_server.store.interface import (
    ForkReferenced,
    StoreWarning,
    ThreadHistory,
    ThreadNotStored,
    WriterBusy,
)
from app_server.store.list_cursor import parse_cursor
from app_server.store.marks_delegate import ThreadMarksMixin
from app_server.store.memory_marks import MemoryThreadMarks
from app_server.store.records import ThreadRecord, build_thread_record
from app_server.store.source_kinds import source_kind_of
from app_server.store.thread_query import (
    INTERACTIVE_SOURCE_KINDS,
    SORT_COLUMNS,
    ThreadPage,
    ThreadQuery,
    ThreadSearchPage,
    normalize_limit,
    page_from_rows,
    stored_source_kinds,
)
from app_server.store.turn_pages import TurnPageRequest, TurnsPage, page_for_request


class _Thread(Struct):
    """One thread's lines (envelopes as they would be on disk) and its file-level facts."""

    thread_id: str
    created_at_ms: int
    history_mode: HistoryMode
    lines: list[StoredLine] = field(default_factory=list)
    archived: bool = False
    archived_at_ms: int | None = None
    name: str | None = None
    updated_at_ms: int = 0
    next_ordinal: int | None = None
    byte_size: int = 0

    @property
    def rollout_path(self) -> str:
        return f"memory/rollout-{self.thread_id}.jsonl"


class MemoryThreadStore(ThreadMarksMixin):
    """The ThreadStore contract in memory (see the module docstring)."""

    def __init__(self) -> None:
        self._threads: dict[str, _Thread] = {}
        self._writers: set[str] = set()
        self._memory_marks = MemoryThreadMarks()

    @property
    def _marks(self) -> MemoryThreadMarks:
        return self._memory_marks

    async def start(self) -> list[StoreWarning]:
        return []

    async def close(self) -> None:
        self._writers.clear()

    def rollout_path_for(self, thread_id: str, created_at_ms: int) -> str:
        return f"memory/rollout-{thread_id}.jsonl"

    async def compress_cold_rollouts(self, *, force: bool = False) -> CompressionReport:
        """Nothing to compress in memory: an empty report."""
        return CompressionReport()

    # -- reading ---------------------------------------------------------------------------------
    def _fold(self, thread: _Thread) -> HistoryFold:
        fold = HistoryFold(load_base=self._base_lines)
        for offset, line in enumerate(thread.lines):
            fold.feed(offset, line)
        return fold

    def _base_lines(self, thread_id: str, end: int | None) -> list[tuple[int, StoredLine]] | None:
        thread = self._threads.get(thread_id)
        if thread is None:
            return None
        lines = thread.lines if end is None else thread.lines[:end]
        return list(enumerate(lines))

    def _record(self, thread: _Thread) -> ThreadRecord | None:
        if not thread.lines:
            return None
        metadata = self._fold(thread).metadata()
        return build_thread_record(
            metadata,
            rollout_path=thread.rollout_path,
            archived=thread.archived,
            updated_at_ms=thread.updated_at_ms,
            recency_at_ms=metadata.last_turn_started_at_ms or thread.created_at_ms,
            archived_at_ms=thread.archived_at_ms,
            name=thread.name,
            fallback_created_at_ms=thread.created_at_ms,
        )

    async def get(self, thread_id: str) -> ThreadRecord | None:
        thread = self._threads.get(thread_id)
        return None if thread is None else self._record(thread)

    async def read_history(self, thread_id: str) -> ThreadHistory:
        thread = self._threads.get(thread_id)
        record = None if thread is None else self._record(thread)
        if thread is None or record is None:
            raise ThreadNotStored(thread_id)
        fold = self._fold(thread)
        return ThreadHistory(
            record,
            fold.turns(),
            thread.next_ordinal,
            thread.byte_size,
            saved_settings=fold.metadata().saved_settings,
        )

    async def model_history(self, thread_id: str) -> ModelHistory:
        thread = self._threads.get(thread_id)
        if thread is None or not thread.lines:
            raise ThreadNotStored(thread_id)
        return collect_model_history(enumerate(thread.lines), self._base_lines)

    async def copy_lines(self, thread_id: str) -> list[StoredLine]:
        thread = self._threads.get(thread_id)
        if thread is None or not thread.lines:
            raise ThreadNotStored(thread_id)
        return [
            StoredLine({k: v for k, v in line.items() if k != "ordinal"}) for line in thread.lines
        ]

    async def list_threads(self, query: ThreadQuery) -> ThreadPage:
        return self._page(query, lambda _thread: True)

    async def search_threads(self, query: ThreadQuery, term: str) -> ThreadSearchPage:
        snippets: dict[str, str] = {}

        def mentions(thread: _Thread) -> bool:
            folded = term.lower()
            for text in self._fold(thread).index.drain().messages:
                if folded in text.lower():
                    snippets[thread.thread_id] = text
                    return True
            return False

        page = self._page(query, mentions)
        return ThreadSearchPage(page, {r.id: snippets[r.id] for r in page.records})

    async def turn_page(self, thread_id: str, request: TurnPageRequest) -> TurnsPage:
        history = await self.read_history(thread_id)
        return page_for_request(
            thread_id, history.turns, history_mode=history.record.history_mode, request=request
        )

    def _page(self, query: ThreadQuery, keep: Callable[[_Thread], bool]) -> ThreadPage:
        """The page of threads matching `query` (and `keep`), as the SQL listing orders it."""
        cursor = parse_cursor(query.cursor) if query.cursor is not None else None
        allowed = self._allowed_ids(query)
        records = [
            record
            for thread in self._threads.values()
            if (allowed is None or thread.thread_id in allowed)
            and (record := self._record(thread)) is not None
            and _matches(record, query)
            and keep(thread)
        ]
        column = SORT_COLUMNS[query.sort_key]
        descending = query.sort_direction == "desc"
        records.sort(key=lambda r: (getattr(r, column), r.id), reverse=descending)
        if cursor is not None:
            records = [
                r for r in records if cursor.admits(getattr(r, column), r.id, descending=descending)
            ]
        limit = normalize_limit(query.limit)
        return page_from_rows(query, records[: limit + 1], limit)

    def _allowed_ids(self, query: ThreadQuery) -> set[str] | None:
        parents: dict[str, str] = {}
        for thread in self._threads.values():
            record = self._record(thread)
            if record is not None and record.parent_thread_id is not None:
                parents[record.id] = record.parent_thread_id
        if query.parent_thread_id is not None:
            return {child for child, parent in parents.items() if parent == query.parent_thread_id}
        if query.ancestor_thread_id is not None:
            found: set[str] = set()
            frontier = {query.ancestor_thread_id}
            while frontier:
                frontier = {c for c, p in parents.items() if p in frontier and c not in found}
                found |= frontier
            found.discard(query.ancestor_thread_id)
            return found
        return None

    # -- writing ---------------------------------------------------------------------------------
    async def create_writer(
        self,
        thread_id: str,
        *,
        created_at_ms: int,
        history_mode: HistoryMode,
        start_ordinal: int = 0,
        name: str | None = None,
    ) -> MemoryThreadWriter:
        if thread_id in self._writers:
            raise WriterBusy(f"thread {thread_id} already has an active writer")
        if thread_id in self._threads and self._threads[thread_id].lines:
            raise ThreadAlreadyStored(thread_id)
        thread = _Thread(
            thread_id,
            created_at_ms,
            history_mode,
            name=name,
            updated_at_ms=created_at_ms,
            next_ordinal=start_ordinal if history_mode == "paginated" else None,
        )
        self._threads[thread_id] = thread
        self._writers.add(thread_id)
        return MemoryThreadWriter(self, thread)

    async def open_writer(self, thread_id: str) -> MemoryThreadWriter:
        thread = self._threads.get(thread_id)
        if thread is None or thread.archived or not thread.lines:
            raise ThreadNotStored(thread_id)
        if thread_id in self._writers:
            raise WriterBusy(f"thread {thread_id} already has an active writer")
        self._writers.add(thread_id)
        return MemoryThreadWriter(self, thread)

    def _release(self, thread_id: str) -> None:
        self._writers.discard(thread_id)

    # -- metadata operations ---------------------------------------------------------------------
    def _stored(self, thread_id: str) -> _Thread:
        thread = self._threads.get(thread_id)
        if thread is None or not thread.lines:
            raise ThreadNotStored(thread_id)
        return thread

    async def set_name(self, thread_id: str, name: str, *, unsaved: bool = False) -> None:
        """An `unsaved` thread's name lives with its loaded thread until `create_writer`
        (nothing here survives the process anyway)."""
        thread = self._threads.get(thread_id)
        writing = thread is not None and thread_id in self._writers
        if not unsaved and not writing and (thread is None or not thread.lines):
            raise ThreadNotStored(thread_id)
        if thread is not None:
            thread.name = name

    async def archive(self, thread_id: str) -> ThreadRecord:
        thread = self._stored(thread_id)
        if thread.archived or thread_id in self._writers:
            raise ThreadNotStored(thread_id)
        thread.archived, thread.archived_at_ms = True, now_ms()
        record = self._record(thread)
        assert record is not None
        return record

    async def unarchive(self, thread_id: str) -> ThreadRecord:
        thread = self._threads.get(thread_id)
        if thread is None or not thread.archived:
            raise ThreadNotStored(thread_id)
        thread.archived, thread.archived_at_ms = False, None
        record = self._record(thread)
        assert record is not None
        return replace(record, archived=False)

    async def delete_tree(self, thread_id: str) -> list[str]:
        self._stored(thread_id)
        parents = {
            r.id: r.parent_thread_id
            for t in self._threads.values()
            if (r := self._record(t)) is not None
        }
        doomed: list[str] = []

        def collect(node: str) -> None:
            for child in sorted(c for c, p in parents.items() if p == node):
                collect(child)
            doomed.append(node)

        collect(thread_id)
        doomed_set = set(doomed)
        for other_id, thread in self._threads.items():
            record = self._record(thread)
            if other_id in doomed_set or record is None:
                continue
            if {record.history_base_id, record.attached_to_thread_id} & doomed_set:
                raise ForkReferenced(thread_id)  # names the requested thread, as local does
        if busy := sorted(doomed_set & self._writers):
            raise WriterBusy(f"thread {busy[0]} already has an active writer")
        for deleted in doomed:
            self._threads.pop(deleted, None)
            self._writers.discard(deleted)
            self._memory_marks.forget(deleted)
        return doomed


class MemoryThreadWriter:
    """Appends to a `MemoryThreadStore` thread; lines are "written" by `flush`."""

    def __init__(self, store: MemoryThreadStore, thread: _Thread) -> None:
        self._store = store
        self._thread = thread
        self._pending: list[RolloutLine] = []
        self._closed = False

    @property
    def thread_id(self) -> str:
        return self._thread.thread_id

    @property
    def next_ordinal(self) -> int | None:
        return self._thread.next_ordinal

    @property
    def byte_size(self) -> int:
        return self._thread.byte_size

    def append(self, lines: Sequence[RolloutLine]) -> None:
        if self._closed:
            raise RuntimeError("writer is closed")
        self._pending.extend(lines)

    async def flush(self) -> None:
        thread = self._thread
        for line in self._pending:
            stamp = format_timestamp_ms(now_ms())
            thread.lines.append(envelope(line, stamp, thread.next_ordinal))
            if thread.next_ordinal is not None:
                thread.next_ordinal += 1
            thread.byte_size += 1
        if self._pending:
            thread.updated_at_ms = now_ms()
        self._pending.clear()

    async def sync(self) -> None:
        await self.flush()

    async def close(self) -> None:
        if not self._closed:
            await self.flush()
            self._closed = True
            self._store._release(self._thread.thread_id)


def _matches(record: ThreadRecord, query: ThreadQuery) -> bool:
    """The Python twin of the SQL filters of `thread/list` (see `local/list_sql.py`)."""
    if query.attached_to_thread_id is not None:
        if record.attached_to_thread_id != query.attached_to_thread_id:
            return False
    elif not query.include_attached and record.attached_to_thread_id is not None:
        return False
    if not query.is_lineage_query and not record.preview:
        return False
    if record.archived != bool(query.archived):
        return False
    if query.cwds and record.cwd not in query.cwds:
        return False
    if query.model_providers and record.model_provider not in query.model_providers:
        return False
    kinds = query.source_kinds or (() if query.is_lineage_query else INTERACTIVE_SOURCE_KINDS)
    if kinds and source_kind_of(record.source) not in stored_source_kinds(kinds):
        return False
    if query.search_term and not (
        query.search_term in record.title or query.search_term in (record.name or "")
    ):
        return False
    if query.included_ids is not None and record.id not in query.included_ids:
        return False
    return record.id not in query.excluded_ids
