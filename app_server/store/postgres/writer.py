"""`PostgresThreadWriter`: the single appender of one thread, fenced by its lease.

`append` envelopes and serializes each line exactly as the local writer does (orjson, one stamp
per call), so a line's text and byte offset are the bytes the local store would have written.
`flush` folds the new lines into the thread's `HistoryFold` and writes, in one transaction, the
thread's row (guarded by the lease: `WHERE writer_owner = $me AND writer_epoch = $mine`), the
lines, their searchable messages and the turns they start (`turn_index.py`). A fenced writer
(another process took the thread) raises `WriterFenced` and refuses everything afterwards; so
does a writer whose flush failed otherwise (its fold is ahead of the database, so it must not
continue: the thread is reopened instead).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import asyncpg
import orjson
from msgspec import Struct

from app_server.notification import now_ms
from app_server.rollout.envelope import envelope, format_timestamp
from app_server.rollout.history import HistoryFold
from app_server.rollout.lines import RolloutLine
from app_server.store.errors import StoreError, StoreUnavailable, WriterFenced
from app_server.store.postgres.connect import CONNECTION_ERRORS
from app_server.store.postgres.lease import LEASE_SECONDS
from app_server.store.postgres.lines import insert_messages
from app_server.store.postgres.schema import RECORD_FIELDS, UPDATABLE_BY_WRITER, record_values
from app_server.store.postgres.turn_index import write_turn_starts
from app_server.store.records import build_thread_record

_SET_COLUMNS = [*UPDATABLE_BY_WRITER, "source_kind"]
_VALUE_INDEX = {name: i for i, name in enumerate([*RECORD_FIELDS, "source_kind"])}
_FLUSH_SQL = (
    "UPDATE threads SET "
    + ", ".join(f"{name} = ${i + 4}" for i, name in enumerate(_SET_COLUMNS))
    + f", recency_at_ms = GREATEST(recency_at_ms, ${len(_SET_COLUMNS) + 4})"
    + f", line_count = ${len(_SET_COLUMNS) + 5}, byte_size = ${len(_SET_COLUMNS) + 6}"
    + f", next_ordinal = ${len(_SET_COLUMNS) + 7}"
    + f", turn_count = ${len(_SET_COLUMNS) + 8}"
    + f", turns_pageable = turns_pageable AND ${len(_SET_COLUMNS) + 9}"
    + f", hidden_before_ordinal = ${len(_SET_COLUMNS) + 10}"
    + f", writer_expires_at = now() + make_interval(secs => {LEASE_SECONDS})"
    + " WHERE id = $1 AND writer_owner = $2 AND writer_epoch = $3"
)
"""The fenced row update of a flush (the record's content columns and the bookkeeping)."""

_INSERT_LINES = (
    "INSERT INTO rollout_lines (thread_id, seq, byte_offset, line)"
    " SELECT $1, s, o, l FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS u(s, o, l)"
    " ON CONFLICT (thread_id, seq) DO NOTHING"
)


class WriterPosition(Struct):
    """Where a thread's rollout ends (what the next flush continues from)."""

    line_count: int
    byte_size: int
    next_ordinal: int | None
    message_count: int
    turn_count: int
    """Turns in the turn-start index (`turn_index.py`)."""


class PostgresThreadWriter:
    """Implements `ThreadWriter` for `PostgresThreadStore` (see the module docstring)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        thread_id: str,
        *,
        owner: str,
        epoch: int,
        position: WriterPosition,
        fold: HistoryFold,
        created_at_ms: int,
        rollout_path: str,
        on_close: Callable[[str], None],
    ) -> None:
        self._pool = pool
        self._thread_id = thread_id
        self._owner = owner
        self.epoch = epoch
        """The fencing token this writer holds."""
        self._position = position
        self._fold = fold
        self._created_at_ms = created_at_ms
        self._rollout_path = rollout_path
        self._on_close = on_close
        self._next_ordinal = position.next_ordinal
        self._pending: list[tuple[dict[str, object], str]] = []
        self._lock = asyncio.Lock()
        self._failure: StoreError | None = None
        self._closed = False
        self._indexable = True
        """False once a turn start could not be indexed (the thread is then paged whole)."""

    @property
    def thread_id(self) -> str:
        return self._thread_id

    @property
    def next_ordinal(self) -> int | None:
        return self._next_ordinal

    @property
    def byte_size(self) -> int:
        return self._position.byte_size

    def append(self, lines: Sequence[RolloutLine]) -> None:
        self._raise_if_unusable()
        if not lines:
            return
        stamp = format_timestamp(datetime.now(UTC))
        ordinal = self._next_ordinal
        encoded: list[tuple[dict[str, object], str]] = []
        for line in lines:
            record = envelope(line, stamp, ordinal)
            encoded.append((record, orjson.dumps(record).decode()))
            if ordinal is not None:
                ordinal += 1
        self._pending.extend(encoded)
        self._next_ordinal = ordinal

    async def flush(self) -> None:
        self._raise_if_unusable()
        async with self._lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            try:
                await asyncio.shield(self._write(batch))
            except WriterFenced as fenced:
                self._failure = fenced
                raise
            except CONNECTION_ERRORS as error:
                self._failure = StoreUnavailable(
                    "the database", f"writing thread {self._thread_id} failed: {error}"
                )
                raise self._failure from error
            except asyncpg.PostgresError as error:
                self._failure = StoreError(f"writing thread {self._thread_id} failed: {error}")
                raise self._failure from error

    async def sync(self) -> None:
        """A committed PostgreSQL transaction is durable already: the same as `flush`."""
        await self.flush()

    async def close(self) -> None:
        if self._closed:
            return
        try:
            if self._failure is None:
                await self.flush()
        finally:
            self._closed = True
            try:
                await self._pool.execute(
                    "UPDATE threads SET writer_owner = NULL, writer_expires_at = NULL"
                    " WHERE id = $1 AND writer_owner = $2 AND writer_epoch = $3",
                    self._thread_id,
                    self._owner,
                    self.epoch,
                )
            finally:
                self._on_close(self._thread_id)

    def _raise_if_unusable(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise StoreError(f"the writer of thread {self._thread_id} is closed")

    async def _write(self, batch: list[tuple[dict[str, object], str]]) -> None:
        """Fold `batch` and commit it with the thread's row, fenced by the lease."""
        position = self._position
        seqs, offsets, texts = [], [], []
        offset = position.byte_size
        for i, (_record, text) in enumerate(batch):
            seqs.append(position.line_count + i)
            offsets.append(offset)
            texts.append(text)
            offset += len(text.encode()) + 1
        await self._feed(batch, offsets)
        delta = self._fold.index.drain()
        messages = [m.replace("\x00", "") for m in delta.messages]
        pageable = delta.pageable and self._indexable
        metadata = self._fold.metadata()
        record = build_thread_record(
            metadata,
            rollout_path=self._rollout_path,
            archived=False,
            updated_at_ms=now_ms(),
            recency_at_ms=metadata.last_turn_started_at_ms or self._created_at_ms,
            fallback_created_at_ms=self._created_at_ms,
        )
        values = record_values(record)
        line_count = position.line_count + len(batch)
        async with self._pool.acquire() as connection, connection.transaction():
            updated = await connection.execute(
                _FLUSH_SQL,
                self._thread_id,
                self._owner,
                self.epoch,
                *(values[_VALUE_INDEX[name]] for name in _SET_COLUMNS),
                record.recency_at_ms,
                line_count,
                offset,
                self._next_ordinal,
                position.turn_count + len(delta.turn_starts),
                pageable,
                delta.hidden_before_ordinal,
            )
            if updated == "UPDATE 0":
                raise WriterFenced(self._thread_id)
            line_seqs = dict(zip(offsets, seqs, strict=True))
            indexed = await write_turn_starts(
                connection, self._thread_id, position.turn_count, delta.turn_starts, line_seqs
            )
            if not indexed:
                self._indexable = False
                await connection.execute(
                    "UPDATE threads SET turns_pageable = false WHERE id = $1", self._thread_id
                )
            await connection.execute(_INSERT_LINES, self._thread_id, seqs, offsets, texts)
            if delta.drop_messages_from is not None:  # a rollback (`history_index`)
                await connection.execute(
                    "DELETE FROM thread_messages WHERE thread_id = $1 AND seq >= $2",
                    self._thread_id,
                    delta.drop_messages_from,
                )
            await insert_messages(connection, self._thread_id, delta.message_base, messages)
        self._position = WriterPosition(
            line_count,
            offset,
            self._next_ordinal,
            delta.message_base + len(messages),
            position.turn_count + len(delta.turn_starts),
        )

    async def _feed(self, batch: list[tuple[dict[str, object], str]], offsets: list[int]) -> None:
        """Feed the fold; in a worker thread when a `session_meta` may make it load a fork's
        base lines (the loader waits on the event loop, which must stay free)."""

        def feed() -> None:
            for (record, _text), at in zip(batch, offsets, strict=True):
                self._fold.feed(at, record)

        if any(record.get("type") == "session_meta" for record, _ in batch):
            await asyncio.to_thread(feed)
        else:
            feed()
