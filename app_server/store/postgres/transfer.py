"""Moving history between a data dir and the PostgreSQL store: `storage import` / `export`.

Import loads a codex (or local-store) data dir: every rollout under `sessions/` and
`archived_sessions/` (plain or `.jsonl.zst`), its lines kept as their exact text with their byte
offsets, its row folded as the local store's rebuild folds it (timestamps from the file's mtime),
its searchable messages and turn starts (`turn_index.py`); and every line of
`session_index.jsonl`. It is idempotent: a thread already stored with the same lines (plain or
compressed) is left alone (counted as present), one stored with other lines is reported as a
conflict and left alone; a rename line already there is not added again.

Export writes a data dir the local store (or codex) reads: each thread's rollout at its
`rollout_path`, plain `.jsonl`, exactly the stored lines, its mtime set to the thread's
`updated_at` (archived: `archived_at`), so a fresh index reports the same times; and
`session_index.jsonl` with every rename line in order. A codex home imported and exported
again gives back its files byte for byte (a `.jsonl.zst` comes back as the plain `.jsonl` it
holds).

Read receipts, goals and metadata patches travel too (`transfer_marks.py`). What is not
carried: a rollout's torn last line (one without its newline, which every reader ignores;
counted in `torn_tails`).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Final

import orjson
from msgspec import Struct, field

from app_server.rollout.history import HistoryFold
from app_server.rollout.history_index import HistoryIndexDelta
from app_server.rollout.lines import StoredLine
from app_server.store.local.rollout_files import RolloutFile, iter_rollout_files
from app_server.store.local.rollout_reader import open_rollout
from app_server.store.local.session_index import (
    SESSION_INDEX_FILE,
    read_session_index,
)
from app_server.store.local.thread_loader import base_loader, record_for_rollout
from app_server.store.postgres.lines import fetch_lines, insert_messages
from app_server.store.postgres.schema import RECORD_FIELDS, record_values
from app_server.store.postgres.store import PostgresThreadStore
from app_server.store.postgres.transfer_marks import MarksCount, export_marks, import_marks
from app_server.store.postgres.turn_index import replace_turn_starts

READ_CHUNK: Final = 1 << 20
"""Bytes read at a time from a rollout being imported."""


class TransferReport(Struct):
    """What an import or export did (threads and lines counted)."""

    threads: int = 0
    """Threads imported (written) or exported."""
    lines: int = 0
    """Rollout lines imported or exported."""
    present: int = 0
    """Import: threads already stored with the same lines (left alone)."""
    conflicts: list[str] = field(default_factory=list)
    """Import: threads stored with other lines than the file's (left alone)."""
    unreadable: list[str] = field(default_factory=list)
    """Import: rollouts that could not be read (not UTF-8, no `session_meta`)."""
    torn_tails: int = 0
    """Import: rollouts whose last line had no newline (that line is not imported)."""
    names: int = 0
    """`session_index.jsonl` lines imported or exported."""
    marks: MarksCount = field(default_factory=MarksCount)
    """Read receipts, goals and metadata patches imported (added) or exported
    (`transfer_marks.py`)."""


class _Rollout(Struct, frozen=True):
    """A rollout read from a data dir: its lines (text, offset) and what folding it gave."""

    rollout: RolloutFile
    lines: list[tuple[int, str]]
    values: list[object]
    index: HistoryIndexDelta
    """The turn starts and searchable messages folding it collected."""
    next_ordinal: int | None
    byte_size: int
    torn: bool


def _read_rollout(source: Path, rollout: RolloutFile, names: dict[str, str]) -> _Rollout:
    """Read and fold one rollout (blocking). Raises `ValueError` when it is not a thread."""
    with open_rollout(rollout.path) as stream:
        chunks = []
        while chunk := stream.read(READ_CHUNK):
            chunks.append(chunk)
    *raw_lines, tail = b"".join(chunks).split(b"\n")
    lines: list[tuple[int, str]] = []
    offset = 0
    for raw in raw_lines:
        lines.append((offset, raw.decode()))  # UnicodeDecodeError is a ValueError
        offset += len(raw) + 1
    parsed: list[tuple[int, StoredLine]] = []
    for at, text in lines:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict):
            parsed.append((at, StoredLine(value)))
    fold = HistoryFold(base_loader(source), keep_items=False).feed_lines(parsed)
    if fold.thread_id is None:
        raise ValueError("no session_meta")
    record = record_for_rollout(source, rollout, fold, name=names.get(rollout.thread_id))
    index = fold.index.drain()
    index.messages = [m.replace("\x00", "") for m in index.messages]
    return _Rollout(
        rollout,
        lines,
        record_values(record),
        index,
        None if fold.last_ordinal is None else fold.last_ordinal + 1,
        offset,
        bool(tail),
    )


_COLUMNS: Final = [*RECORD_FIELDS, "source_kind"]
_INSERT_THREAD: Final = (
    f"INSERT INTO threads ({', '.join(_COLUMNS)}, line_count, byte_size, next_ordinal,"
    " turn_count, turns_pageable, hidden_before_ordinal)"
    f" VALUES ({', '.join(f'${i + 1}' for i in range(len(_COLUMNS) + 6))})"
    " ON CONFLICT (id) DO NOTHING"
)


async def import_home(store: PostgresThreadStore, source: Path) -> TransferReport:
    """Load the data dir `source` into the store (see the module docstring)."""
    report = TransferReport()
    entries = await asyncio.to_thread(read_session_index, source)
    names = {thread_id: entry.thread_name for thread_id, entry in entries.items()}
    rollouts = await asyncio.to_thread(lambda: list(iter_rollout_files(source)))
    for rollout in rollouts:
        try:
            read = await asyncio.to_thread(_read_rollout, source, rollout, names)
        except (ValueError, OSError) as error:
            report.unreadable.append(f"{rollout.path}: {error}")
            continue
        report.torn_tails += read.torn
        await _import_one(store, read, report)
    report.names = await _import_session_index(store, source)
    report.marks = await import_marks(store.pool, source)
    return report


async def _import_one(store: PostgresThreadStore, read: _Rollout, report: TransferReport) -> None:
    thread_id = read.rollout.thread_id
    async with store.pool.acquire() as connection, connection.transaction():
        inserted = await connection.execute(
            _INSERT_THREAD,
            *read.values,
            len(read.lines),
            read.byte_size,
            read.next_ordinal,
            len(read.index.turn_starts),
            read.index.pageable,
            read.index.hidden_before_ordinal,
        )
        if inserted == "INSERT 0 0":
            stored = await fetch_lines(connection, thread_id)  # plain or compressed
            same = [text for _, text in stored] == [text for _, text in read.lines]
            if same:
                report.present += 1
            else:
                report.conflicts.append(thread_id)
            return
        await connection.execute(
            "INSERT INTO rollout_lines (thread_id, seq, byte_offset, line)"
            " SELECT $1, s, o, l FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS u(s, o, l)",
            thread_id,
            list(range(len(read.lines))),
            [offset for offset, _ in read.lines],
            [text for _, text in read.lines],
        )
        await insert_messages(connection, thread_id, 0, read.index.messages)
        await replace_turn_starts(connection, thread_id, read.index.turn_starts, read.lines)
        stored = await connection.fetchval(
            "SELECT count(*) FROM rollout_lines WHERE thread_id = $1", thread_id
        )
        if stored != len(read.lines):  # the count check: never report a partial thread
            raise RuntimeError(f"thread {thread_id}: {stored} lines stored of {len(read.lines)}")
    report.threads += 1
    report.lines += len(read.lines)


async def _import_session_index(store: PostgresThreadStore, source: Path) -> int:
    """Add the rename lines of `source`'s `session_index.jsonl` not stored yet, in order."""
    path = source / SESSION_INDEX_FILE
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        return 0
    added = 0
    async with store.pool.acquire() as connection, connection.transaction():
        known = {row["line"] for row in await connection.fetch("SELECT line FROM session_index")}
        for raw in content.split(b"\n"):
            if not raw.strip():
                continue
            line = raw.decode(errors="replace")
            if line in known:
                continue
            try:
                thread_id = str(orjson.loads(raw).get("id", ""))
            except (orjson.JSONDecodeError, AttributeError):
                thread_id = ""
            await connection.execute(
                "INSERT INTO session_index (thread_id, line) VALUES ($1, $2)", thread_id, line
            )
            known.add(line)
            added += 1
    return added


async def export_home(store: PostgresThreadStore, target: Path) -> TransferReport:
    """Write every stored thread and the rename lines under `target` (see the module)."""
    report = TransferReport()
    rows = await store.pool.fetch(
        "SELECT id, rollout_path, archived, updated_at_ms, archived_at_ms FROM threads"
        " WHERE line_count > 0 ORDER BY id"
    )
    for row in rows:
        lines = await fetch_lines(store.pool, row["id"])  # plain or compressed
        data = b"".join(text.encode() + b"\n" for _, text in lines)
        stamp_ms = row["archived_at_ms"] if row["archived"] else row["updated_at_ms"]
        await asyncio.to_thread(_write_file, target / row["rollout_path"], data, stamp_ms)
        report.threads += 1
        report.lines += len(lines)
    names = await store.pool.fetch("SELECT line FROM session_index ORDER BY seq")
    if names:
        data = b"".join(row["line"].encode() + b"\n" for row in names)
        await asyncio.to_thread(_write_file, target / SESSION_INDEX_FILE, data, None)
        report.names = len(names)
    report.marks = await export_marks(store.pool, target)
    return report


def _write_file(path: Path, data: bytes, mtime_ms: int | None) -> None:
    """Write `path` whole (a temp file renamed into place), with `mtime_ms` when given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    temp.write_bytes(data)
    if mtime_ms is not None:
        os.utime(temp, ns=(mtime_ms * 1_000_000, mtime_ms * 1_000_000))
    temp.replace(path)
