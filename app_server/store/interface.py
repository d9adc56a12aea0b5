"""The ThreadStore: durable conversation history, and the contract every implementation keeps.

Two implementations keep it and pass the same contract tests (`tests/store/test_store_contract.py`):
`LocalThreadStore` (Codex's rollout files + our SQLite index) and `MemoryThreadStore` (its
in-memory twin, for tests of the layers above and as the executable statement of the contract).

Contract
- **Who appends.** Only a `ThreadWriter`, obtained from `create_writer` (new thread) or
  `open_writer` (existing thread). There is at most one writer per thread at a time — across
  processes for the local store (Codex's writer lock), so our server and Codex never interleave
  lines. Lines are appended in order and never rewritten; whole-file operations (archive,
  unarchive, delete) require that no writer is open.
- **What is atomic.** One line. Readers see a prefix of the appended lines; a line cut short by
  a crash is ignored. A metadata operation (`set_name`, `archive`, `unarchive`) and the removal of
  one thread by `delete_tree` are atomic: after a crash the thread is either fully in its old
  state or fully in its new one. Once one of them returned, no later crash undoes it, and the
  state found at the next start is served from its first listing on and does not change by
  itself afterwards. A thread is never listed both live and archived.
- **What survives a crash.** Everything a writer `flush`ed survives the process dying; everything
  it `sync`ed survives power loss. The index is a cache that is never ahead of the files: a line
  is reflected by `get`/`list_threads` only after it was flushed, and `start()` reconciles the
  index with the files, so a crash at any instant leaves every thread listed and readable.
- **Compression.** A store may compress rollouts nobody wrote to for a while
  (`compress_cold_rollouts`, and in the background if configured). It never changes what is
  read (content, ordinals, timestamps, the reported plain `path`) and never touches a thread
  while a writer holds it; `open_writer` restores the plain file first.
- **Marks.** Read receipts, goals and metadata patches (`store.thread_marks`) are kept per
  thread beside its history, survive a restart, and go when the thread is deleted. A receipt
  update is atomic: of two updates naming the same revision, one succeeds and the other gets
  `ReadStateConflict`.
- **Who decides.** The store enforces nothing about policy (who may archive what, which client
  is told): that is the thread manager's job. It only refuses what would corrupt history.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Final, Protocol, runtime_checkable

from msgspec import Struct

from app_server.rollout.lines import HistoryMode, RolloutLine, StoredLine
from app_server.rollout.model_history import ModelHistory
from app_server.rollout.turn_entry import TurnEntry
from app_server.store.compression_report import CompressionReport
from app_server.store.errors import ForkReferenced, ThreadNotStored, WriterBusy
from app_server.store.records import ThreadRecord
from app_server.store.thread_marks import GoalRecord, MetadataPatch, ReadMark, ReadReceipt
from app_server.store.thread_query import ThreadPage, ThreadQuery, ThreadSearchPage
from app_server.store.turn_pages import TurnPageRequest, TurnsPage

__all__ = [
    "ForkReferenced",
    "ProcessMessage",
    "ProcessMessaging",
    "StoreWarning",
    "ThreadHistory",
    "ThreadNotStored",
    "ThreadStore",
    "ThreadWriter",
    "ThreadsHandedOver",
    "WriterBusy",
]


class StoreWarning(Struct, frozen=True):
    """Something clients should hear about after `initialize` (a `configWarning`)."""

    summary: str
    details: str | None = None


class ThreadHistory(Struct, frozen=True):
    """A stored thread: its metadata and its turns (`itemsView: full`), oldest first."""

    record: ThreadRecord
    turns: list[TurnEntry]
    next_ordinal: int | None
    """The ordinal the next appended line gets (paginated threads), else None."""
    byte_size: int
    """Bytes of the plain rollout (a paginated fork's `history_base.end_byte_offset`)."""
    model_summary: ModelHistory | None = None
    """The thread's model history without its items (windows, token usage, world state,
    instructions) when the read folded it too, as a resume's does; None otherwise. A resume
    replays the token usage from it without holding the model items (issue 17). Not part of
    the history's value: two reads of the same history are equal with or without it."""
    saved_settings: Mapping[str, Any] | None = None
    """The last `thread_settings_applied.thread_settings` recorded (None: none, or a store
    that does not keep it): a resumed thread's personality, plugins and collaboration mode."""

    def _compared(self) -> tuple[object, ...]:
        """The field values equality looks at: all but `model_summary`."""
        return tuple(
            getattr(self, name) for name in self.__struct_fields__ if name != "model_summary"
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not ThreadHistory:
            return NotImplemented
        return self._compared() == other._compared()

    __hash__ = None  # type: ignore[assignment]  # holds lists: never hashable


class ThreadWriter(Protocol):
    """The single appender of one thread's rollout (see the module contract)."""

    @property
    def thread_id(self) -> str: ...

    @property
    def next_ordinal(self) -> int | None:
        """Ordinal of the next line (paginated), None for legacy files."""
        ...

    @property
    def byte_size(self) -> int:
        """Bytes written to the file so far (after the last flush)."""
        ...

    def append(self, lines: Sequence[RolloutLine]) -> None:
        """Queue lines for writing, in order; never blocks (see `flush`)."""
        ...

    async def flush(self) -> None:
        """Write everything queued so far and update the index; survives a process crash."""
        ...

    async def sync(self) -> None:
        """`flush`, then fsync: survives power loss (used at turn end)."""
        ...

    async def close(self) -> None:
        """Sync and release the thread; the writer is unusable afterwards."""
        ...


class ThreadStore(Protocol):
    """Where threads live (see the module contract)."""

    async def start(self) -> list[StoreWarning]:
        """Open the store (recovering a damaged index) and begin reconciling in the background.

        Returns what clients should be warned about. Never waits for a full scan of the files.
        """
        ...

    async def close(self) -> None:
        """Stop background work and close the index; open writers must be closed first."""
        ...

    async def get(self, thread_id: str) -> ThreadRecord | None:
        """The thread's metadata, live or archived, or None if it is not stored."""
        ...

    async def list_threads(self, query: ThreadQuery) -> ThreadPage:
        """A page of threads matching the query, with stable keyset cursors."""
        ...

    async def search_threads(self, query: ThreadQuery, term: str) -> ThreadSearchPage:
        """A page of threads matching `query` that have a user or agent message containing
        `term` (case-insensitive), each with the first such message. Served from an index:
        it reads no rollout (compressed ones stay compressed)."""
        ...

    async def turn_page(self, thread_id: str, request: TurnPageRequest) -> TurnsPage:
        """One page of a stored thread's turns (`thread/turns/list`), reading no more of its
        history than the page needs where the store can. Raises `ThreadNotStored`,
        `HistoryLineageError`, or `InvalidCursor` for a cursor naming no turn of it."""
        ...

    async def read_history(self, thread_id: str) -> ThreadHistory:
        """Metadata and every turn. Raises `ThreadNotStored`, or `HistoryLineageError` when a
        paginated thread's fork lineage cannot be resolved (fail closed)."""
        ...

    def rollout_path_for(self, thread_id: str, created_at_ms: int) -> str:
        """The data-dir-relative path a new thread's rollout will get (reported as its `path`
        before the file exists)."""
        ...

    async def create_writer(
        self,
        thread_id: str,
        *,
        created_at_ms: int,
        history_mode: HistoryMode,
        start_ordinal: int = 0,
        name: str | None = None,
    ) -> ThreadWriter:
        """A writer for a thread that has no rollout yet; the file appears at the first append.

        `name`: the name the thread was given before (`set_name(..., unsaved=True)`); the
        thread is stored with it. Raises `ThreadAlreadyStored` (a `FileExistsError`) if the thread
        has a rollout already (live or archived): a second one would shadow it.
        """
        ...

    async def open_writer(self, thread_id: str) -> ThreadWriter:
        """A writer appending to an existing live thread (restoring a compressed file first).

        Raises `ThreadNotStored` (unknown or archived) or `WriterBusy`.
        """
        ...

    async def model_history(self, thread_id: str) -> ModelHistory:
        """What the model has seen of a live thread (its `response_item`s across its lineage)
        and its token totals. Raises `ThreadNotStored` or `HistoryLineageError`."""
        ...

    async def copy_lines(self, thread_id: str) -> list[StoredLine]:
        """Every line of a live thread's rollout as written (timestamps kept, ordinals dropped),
        for a legacy fork, which copies its source's history. Raises `ThreadNotStored`."""
        ...

    async def set_name(self, thread_id: str, name: str, *, unsaved: bool = False) -> None:
        """Record a user-given name (live or archived thread, or one whose writer has not
        written yet). Raises `ThreadNotStored`.

        `unsaved`: the thread exists only in memory so far (its rollout comes with its first
        turn); the name is recorded durably all the same (codex appends it to
        `session_index.jsonl` at once), and `create_writer(name=...)` stores the thread with it.
        """
        ...

    async def archive(self, thread_id: str) -> ThreadRecord:
        """Move a live thread to the archive. Raises `ThreadNotStored` if not live."""
        ...

    async def unarchive(self, thread_id: str) -> ThreadRecord:
        """Move an archived thread back. Raises `ThreadNotStored` if not archived."""
        ...

    async def compress_cold_rollouts(self, *, force: bool = False) -> CompressionReport:
        """Run the cold-rollout compression now and report what it did (a store without
        compressed storage reports nothing). `force` ignores the throttle of recent runs but
        not a run in progress elsewhere."""
        ...

    async def delete_tree(self, thread_id: str) -> list[str]:
        """Delete the thread and every thread it spawned, deepest first; returns their ids in
        that order. Raises `ThreadNotStored`; `ForkReferenced(thread_id)` (nothing deleted) when a
        thread outside the tree still references one inside it through its history (a paginated
        fork's base, or an attached fork); `WriterBusy` when a thread of the tree has an open
        writer (threads already deleted, deeper ones, stay deleted)."""
        ...

    # -- marks (read receipts, goals; `store.thread_marks`) --------------------------------------
    async def read_receipts(self, thread_ids: Sequence[str]) -> dict[str, ReadReceipt]:
        """The receipt of each thread (the initial one where nothing was marked yet). Does not
        check that the threads are stored."""
        ...

    async def mark_read_state(
        self, thread_id: str, expected_revision: str, mark: ReadMark
    ) -> ReadReceipt:
        """Mark a stored thread read or unread. Raises `ThreadNotStored`, or `ReadStateConflict`
        (nothing changed) when `expected_revision` is not the current revision."""
        ...

    async def receipt_turn_completed(self, thread_id: str, turn_id: str) -> ReadReceipt:
        """Record that a turn of the thread completed (it becomes the first unread position
        unless one is set already)."""
        ...

    async def goal(self, thread_id: str) -> GoalRecord | None:
        """The thread's goal, if one is set."""
        ...

    async def put_goal(self, goal: GoalRecord) -> None:
        """Set (replace) the goal of `goal.thread_id` (also before the thread's rollout
        exists: codex lets a new thread have a goal)."""
        ...

    async def clear_goal(self, thread_id: str) -> bool:
        """Remove the thread's goal; whether there was one."""
        ...

    async def metadata_patches(self, thread_ids: Sequence[str]) -> dict[str, MetadataPatch]:
        """The metadata patch of each of the threads that has one."""
        ...

    async def patch_metadata(self, thread_id: str, patch: MetadataPatch) -> MetadataPatch:
        """Apply `patch` over the thread's stored one, atomically (also before the thread's
        rollout exists, as codex allows); returns the patch now stored."""
        ...


@runtime_checkable
class ThreadsHandedOver(Protocol):
    """A store shared by several processes that may ask this one to give a loaded thread up
    (the PostgreSQL store). The composition root connects it to the thread manager."""

    def on_handover_request(self, handler: Callable[[str], Coroutine[Any, Any, bool]]) -> None:
        """`handler(thread_id)` unloads the thread if it is idle here; whether it did."""
        ...


EVERY_PROCESS: Final = "*"
"""The recipient of a `ProcessMessage` meaning every other live process sharing the store."""
OWNER_GONE: Final = "owner-gone"
"""The kind of a `ProcessMessage` the store gives its own process when it found that another
process stopped without saying so (killed, cut off, frozen): `sender` is that process, `body` a
JSON array of the ids of the threads it had loaded (now loaded nowhere). Exactly one process
receives it per departed process."""


class ProcessMessage(Struct, frozen=True):
    """One message between processes sharing a store (`ProcessMessaging`)."""

    recipient: str
    """The id of the process it is for."""
    sender: str
    kind: str
    """What it is (the forwarding layer's vocabulary: a request, an answer, a delivery…)."""
    route: str
    """Which conversation it belongs to (e.g. a client connection of the sender)."""
    body: str


@runtime_checkable
class ProcessMessaging(Protocol):
    """A store shared by several processes that carries messages between them (the PostgreSQL
    store's command channel), so that a request for a thread another process has loaded is
    forwarded there and its notifications come back. The composition root connects it to the
    RPC layer's forwarder."""

    @property
    def process_id(self) -> str:
        """This process's id among the processes sharing the store."""
        ...

    async def live_owner(self, thread_id: str) -> str | None:
        """The other live process that has the thread loaded (holds its writer), or None."""
        ...

    @property
    def channel_listening(self) -> bool:
        """Whether messages addressed to this process are heard now (False while the channel
        reconnects after losing its database session; they wait and are caught up on)."""
        ...

    def send_message(self, message: ProcessMessage) -> None:
        """Queue a message for another process; never blocks; kept in order."""
        ...

    async def process_alive(self, process_id: str) -> bool:
        """Whether the process is still running (a dead one's messages are dropped)."""
        ...

    def on_messages(self, handler: Callable[[list[ProcessMessage]], None]) -> None:
        """`handler` receives every message addressed to this process, in order."""
        ...
