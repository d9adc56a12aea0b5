"""The single appender of a thread's rollout: envelope, ordinals, group commit, crash safety."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import zstandard

from app_server.ids import uuid7
from app_server.rollout.lines import StoredLine
from app_server.store.local.rollout_group_commit import RolloutWriteError, RolloutWriterClosed
from app_server.store.local.rollout_reader import iter_rollout_lines
from app_server.store.local.rollout_writer import RolloutPosition, RolloutWriter, new_rollout_path
from app_server.store.local.writer_lock import ThreadWriterBusy, writer_lock_path

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CREATED_AT_MS = 1_795_545_670_000  # 2026-11-24T18:21:10Z


def _event(n: int, **extra: Any) -> StoredLine:
    """A line of a kind we do not model: the writer passes it through as it is."""
    return StoredLine({"type": "event_msg", "payload": {"type": "test_event", "n": n}, **extra})


def _rollout(data_dir: Path, thread_id: str) -> Path:
    return new_rollout_path(data_dir, thread_id, CREATED_AT_MS)


async def _open(
    data_dir: Path, thread_id: str, *, mode: str = "paginated", start_ordinal: int = 0
) -> RolloutWriter:
    assert mode in ("paginated", "legacy")
    return await RolloutWriter.open(
        _rollout(data_dir, thread_id),
        data_dir=data_dir,
        thread_id=thread_id,
        history_mode="paginated" if mode == "paginated" else "legacy",
        start_ordinal=start_ordinal,
    )


def _records(path: Path) -> list[dict[str, Any]]:
    return [record for _, record in iter_rollout_lines(path)]


async def test_lines_come_back_in_order_with_gap_free_ordinals(tmp_path: Path) -> None:
    thread_id = uuid7()
    writer = await _open(tmp_path, thread_id)
    writer.append([_event(0), _event(1)])
    writer.append([_event(2)])
    await writer.flush()
    writer.append([_event(n) for n in range(3, 10)])
    await writer.close()
    records = _records(writer.path)
    assert [r["ordinal"] for r in records] == list(range(10))
    assert [r["payload"]["n"] for r in records] == list(range(10))


async def test_envelope_has_codex_member_order_and_timestamp_format(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7())
    writer.append(
        [StoredLine({"type": "response_item", "payload": {"a": 1}, "metadata": {"m": 2}})]
    )
    await writer.close()
    record = json.loads(writer.path.read_bytes())
    assert list(record) == ["timestamp", "ordinal", "type", "payload", "metadata"]
    assert TIMESTAMP_RE.match(record["timestamp"])
    assert (record["type"], record["payload"], record["metadata"]) == (
        "response_item",
        {"a": 1},
        {"m": 2},
    )


async def test_each_line_is_one_json_object_and_a_newline(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7())
    writer.append([_event(0, metadata={"text": "multi\nline\r\ntext"}), _event(1)])
    await writer.close()
    raw = writer.path.read_bytes()
    assert raw.endswith(b"\n")
    assert [json.loads(line)["ordinal"] for line in raw.splitlines()] == [0, 1]


async def test_given_timestamp_is_kept(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7(), mode="legacy")
    writer.append([_event(0, timestamp="2025-01-02T03:04:05.678Z")])
    await writer.close()
    assert _records(writer.path)[0]["timestamp"] == "2025-01-02T03:04:05.678Z"


async def test_legacy_mode_writes_no_ordinals(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7(), mode="legacy")
    writer.append([_event(n) for n in range(3)])
    assert writer.next_ordinal is None
    await writer.close()
    records = _records(writer.path)
    assert [r["payload"]["n"] for r in records] == [0, 1, 2]
    assert all("ordinal" not in r for r in records)


async def test_new_file_numbering_starts_at_start_ordinal(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7(), start_ordinal=43)  # a paginated fork of a base
    writer.append([_event(0), _event(1)])
    await writer.close()
    assert [r["ordinal"] for r in _records(writer.path)] == [43, 44]


async def test_reopened_file_continues_after_its_last_ordinal(tmp_path: Path) -> None:
    thread_id = uuid7()
    first = await _open(tmp_path, thread_id, start_ordinal=5)
    first.append([_event(n) for n in range(3)])
    await first.close()
    second = await _open(tmp_path, thread_id)
    assert second.next_ordinal == 8
    second.append([_event(3)])
    await second.close()
    assert [r["ordinal"] for r in _records(second.path)] == [5, 6, 7, 8]


async def test_append_records_returns_the_records_as_written(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7(), start_ordinal=3)
    records = writer.append_records([_event(0, metadata={"m": 1}), _event(1)])
    await writer.close()
    assert records == _records(writer.path)
    assert [r["ordinal"] for r in records] == [3, 4]


async def test_line_carrying_an_ordinal_is_refused(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7())
    with pytest.raises(ValueError, match="ordinal"):
        writer.append([_event(0, ordinal=7)])
    await writer.close()


async def test_unserializable_line_queues_nothing_and_consumes_no_ordinal(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7())
    with pytest.raises(TypeError):
        writer.append([_event(0), StoredLine({"type": "event_msg", "payload": {"bad": object()}})])
    assert (writer.next_ordinal, writer.pending_lines) == (0, 0)
    writer.append([_event(0)])
    await writer.close()
    assert [r["ordinal"] for r in _records(writer.path)] == [0]


async def test_concurrent_appends_from_many_tasks_are_written_exactly_once(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7())
    tasks, lines_per_task = 20, 200

    async def producer(task: int) -> None:
        for n in range(lines_per_task):
            line = StoredLine({"type": "event_msg", "payload": {"task": task, "n": n}})
            writer.append([line])
            if n % 17 == 0:
                await writer.flush()
            else:
                await asyncio.sleep(0)

    await asyncio.gather(*(producer(task) for task in range(tasks)))
    await writer.close()
    raw_lines = writer.path.read_bytes().splitlines()
    records = [json.loads(raw) for raw in raw_lines]  # every line is valid JSON
    assert [r["ordinal"] for r in records] == list(range(tasks * lines_per_task))
    seen = [(r["payload"]["task"], r["payload"]["n"]) for r in records]
    assert sorted(seen) == [(t, n) for t in range(tasks) for n in range(lines_per_task)]
    for task in range(tasks):  # each task's lines stay in its append order
        assert [n for t, n in seen if t == task] == list(range(lines_per_task))


async def test_file_is_created_only_at_the_first_append(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7())
    await writer.sync()
    assert not writer.path.exists()
    assert not (tmp_path / "sessions").exists()
    writer.append([_event(0)])
    await writer.flush()
    assert writer.path.exists()
    await writer.close()


async def test_thread_without_lines_leaves_no_file(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7())
    await writer.close()
    assert not writer.path.exists()


async def test_rollout_path_follows_the_codex_layout(tmp_path: Path) -> None:
    thread_id = uuid7()
    local = datetime.fromtimestamp(CREATED_AT_MS // 1000)
    path = new_rollout_path(tmp_path, thread_id, CREATED_AT_MS)
    stamp = local.strftime("%Y-%m-%dT%H-%M-%S")
    assert path == tmp_path.joinpath(
        "sessions",
        f"{local:%Y}",
        f"{local:%m}",
        f"{local:%d}",
        f"rollout-{stamp}-{thread_id}.jsonl",
    )


async def test_torn_last_line_is_terminated_before_appending(tmp_path: Path) -> None:
    thread_id = uuid7()
    first = await _open(tmp_path, thread_id)
    first.append([_event(0), _event(1)])
    await first.close()
    with first.path.open("ab") as file:
        file.write(b'{"timestamp":"2026-11-24T18:21:11.155Z","ordinal":2,"type":"ev')  # a crash
    second = await _open(tmp_path, thread_id)
    assert second.next_ordinal == 2  # the torn fragment is not a line
    second.append([_event(2), _event(3)])
    await second.close()
    raw_lines = second.path.read_bytes().split(b"\n")
    assert raw_lines[2].endswith(b'"type":"ev')  # the fragment is a line of its own
    assert raw_lines[-1] == b""
    records = _records(second.path)  # the reader skips the fragment
    assert [(r["ordinal"], r["payload"]["n"]) for r in records] == [(n, n) for n in range(4)]


async def test_torn_line_missing_only_its_newline_counts_as_a_line(tmp_path: Path) -> None:
    thread_id = uuid7()
    first = await _open(tmp_path, thread_id)
    first.append([_event(0), _event(1)])
    await first.close()
    whole = first.path.read_bytes()
    first.path.write_bytes(whole[:-1])  # the crash cut exactly the last "\n"
    second = await _open(tmp_path, thread_id)
    assert second.next_ordinal == 2
    second.append([_event(2)])
    await second.close()
    assert second.path.read_bytes().startswith(whole)
    assert [r["ordinal"] for r in _records(second.path)] == [0, 1, 2]


async def test_sync_makes_file_content_equal_to_all_lines(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7())
    lines = [_event(n) for n in range(50)]
    writer.append(lines)
    await writer.sync()
    assert writer.pending_lines == 0
    on_disk = [json.loads(raw) for raw in writer.path.read_bytes().splitlines()]
    assert [{"type": r["type"], "payload": r["payload"]} for r in on_disk] == lines
    await writer.close()


async def test_position_is_the_written_size_and_next_ordinal(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7(), start_ordinal=10)
    writer.append([_event(n) for n in range(5)])
    position = await writer.flushed_position()
    assert position == RolloutPosition(writer.path.stat().st_size, 15)
    assert writer.byte_size == position.end_byte_offset
    writer.append([_event(5)])
    await writer.close()
    assert [r["ordinal"] for r in _records(writer.path)] == list(range(10, 16))
    base = iter_rollout_lines(writer.path, end_offset=position.end_byte_offset)
    assert [r["ordinal"] for _, r in base] == list(range(10, 15))


async def test_second_writer_on_the_same_thread_is_refused(tmp_path: Path) -> None:
    thread_id = uuid7()
    writer = await _open(tmp_path, thread_id)
    with pytest.raises(ThreadWriterBusy, match="already has an active writer"):
        await _open(tmp_path, thread_id)
    await writer.close()


async def test_close_releases_the_writer_lock(tmp_path: Path) -> None:
    thread_id = uuid7()
    writer = await _open(tmp_path, thread_id)
    writer.append([_event(0)])
    await writer.close()
    assert not writer_lock_path(tmp_path, thread_id).exists()
    again = await _open(tmp_path, thread_id)
    await again.close()


async def test_append_after_close_fails(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7())
    await writer.close()
    with pytest.raises(RolloutWriterClosed):
        writer.append([_event(0)])


async def test_close_is_idempotent(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7())
    writer.append([_event(0)])
    await writer.close()
    await writer.close()
    assert [r["ordinal"] for r in _records(writer.path)] == [0]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
async def test_write_error_surfaces_in_flush_and_later_calls_fail_fast(tmp_path: Path) -> None:
    thread_id = uuid7()
    path = _rollout(tmp_path, thread_id)
    path.parent.mkdir(parents=True)
    path.symlink_to("/dev/full")  # every write fails with ENOSPC
    writer = await _open(tmp_path, thread_id)
    writer.append([_event(0)])
    with pytest.raises(RolloutWriteError) as caught:
        await writer.flush()
    assert isinstance(caught.value.__cause__, OSError)
    assert writer.failed
    with pytest.raises(RolloutWriteError):
        writer.append([_event(1)])
    with pytest.raises(RolloutWriteError):
        await writer.sync()
    with pytest.raises(RolloutWriteError):
        await writer.close()
    assert not writer_lock_path(tmp_path, thread_id).exists()  # released nevertheless


async def test_failed_file_creation_surfaces_in_flush(tmp_path: Path) -> None:
    writer = await _open(tmp_path, uuid7())
    (tmp_path / "sessions").write_bytes(b"not a directory")  # the date folders cannot be made
    writer.append([_event(0)])
    with pytest.raises(RolloutWriteError):
        await writer.sync()
    with pytest.raises(RolloutWriteError):
        await writer.close()


async def test_append_after_materialize_works(tmp_path: Path) -> None:
    thread_id = uuid7()
    first = await _open(tmp_path, thread_id)
    first.append([_event(n) for n in range(3)])
    await first.close()
    plain = first.path
    original = plain.read_bytes()
    zst = plain.with_name(plain.name + ".zst")
    zst.write_bytes(zstandard.ZstdCompressor(level=3).compress(original))
    plain.unlink()
    second = await _open(tmp_path, thread_id)
    assert not zst.exists()
    assert second.next_ordinal == 3
    second.append([_event(3)])
    await second.close()
    assert plain.read_bytes().startswith(original)
    assert [r["ordinal"] for r in _records(plain)] == [0, 1, 2, 3]


# ---------------------------------------------------------------------------- crash safety

CRASH_CHILD = """
import asyncio, random, sys
from pathlib import Path
from app_server.store.local.rollout_writer import RolloutWriter

async def main() -> None:
    data_dir, path, thread_id, seed = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    rng = random.Random(seed)
    writer = await RolloutWriter.open(
        path, data_dir=data_dir, thread_id=thread_id, history_mode="paginated"
    )
    print("open", writer.next_ordinal, flush=True)
    since_flush = 0
    while True:
        lines = []
        for _ in range(rng.randint(1, 20)):
            # Now and then a multi-megabyte line: a long write(2) a SIGKILL can cut short.
            size = 4_000_000 if rng.random() < 0.005 else rng.choice((10, 100, 1000, 5000))
            n = writer.next_ordinal + len(lines)
            payload = {"type": "crash", "n": n, "pad": "x" * size}
            lines.append({"type": "event_msg", "payload": payload})
        writer.append(lines)
        since_flush += len(lines)
        if since_flush >= 40:
            await writer.flush()
            print(writer.next_ordinal - 1, flush=True)
            since_flush = 0
            await asyncio.sleep(0.002)
        else:
            await asyncio.sleep(0)

asyncio.run(main())
"""


async def _collect_stdout(stream: asyncio.StreamReader, into: list[bytes]) -> None:
    while line := await stream.readline():
        into.append(line)


class _CrashChecker:
    """Validates the file after each kill, parsing only what was added since the last check.

    Lines are immutable once complete (append-only), so a checked prefix stays checked; the
    test still verifies the prefix bytes did not change.
    """

    def __init__(self) -> None:
        self.prefix = b""  # the complete lines checked so far
        self.lines = 0  # valid lines in `prefix` (their ordinals are 0 … lines-1)
        self.repaired_offsets: set[int] = set()  # torn tails seen after a kill
        self.torn_rounds = 0

    def check(self, data: bytes, reported: list[int], context: str) -> None:
        assert data.startswith(self.prefix), f"{context}: written lines changed"
        offset = len(self.prefix)
        while (newline := data.find(b"\n", offset)) >= 0:
            try:
                record = json.loads(data[offset:newline])
            except ValueError:
                # Only a torn tail left by an earlier kill, terminated by the next writer.
                assert offset in self.repaired_offsets, f"{context}: bad line at byte {offset}"
            else:
                assert record["ordinal"] == self.lines, f"{context}: ordinal gap at {offset}"
                assert record["payload"]["n"] == record["ordinal"], context
                self.lines += 1
            offset = newline + 1
        self.prefix = data[:offset]
        if offset < len(data):  # a torn last line: the next writer terminates it
            self.repaired_offsets.add(offset)
            self.torn_rounds += 1
        if reported:
            assert max(reported) < self.lines, f"{context}: a flushed line is missing"


async def test_lines_survive_repeated_sigkill_of_the_writing_process(tmp_path: Path) -> None:
    thread_id = uuid7()
    path = _rollout(tmp_path, thread_id)
    script = tmp_path / "crash_child.py"
    script.write_text(CRASH_CHILD)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    seed = random.randrange(1 << 32)
    rng = random.Random(seed)
    checker = _CrashChecker()
    reported: list[int] = []
    for round_number in range(30):
        context = f"seed {seed}, round {round_number}"
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            str(tmp_path),
            str(path),
            thread_id,
            f"{seed}-{round_number}",
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        assert child.stdout is not None
        output: list[bytes] = []
        if rng.random() < 0.2:  # anywhere, even while starting or repairing
            reader = asyncio.create_task(_collect_stdout(child.stdout, output))
            await asyncio.sleep(rng.uniform(0, 0.3))
        else:  # while appending
            first = await asyncio.wait_for(child.stdout.readline(), timeout=60)
            assert first.startswith(b"open"), context
            reader = asyncio.create_task(_collect_stdout(child.stdout, output))
            await asyncio.sleep(rng.uniform(0, 0.1))
        child.send_signal(signal.SIGKILL)
        assert await child.wait() == -signal.SIGKILL, context
        await reader
        reported += [
            int(line) for line in output if line.strip().isdigit() and line.endswith(b"\n")
        ]
        checker.check(path.read_bytes() if path.exists() else b"", reported, context)
    assert reported, "the child never reported a flush"
    # The colleague's reader sees exactly the valid lines, in order, skipping repaired tails.
    ordinals = [record["ordinal"] for _, record in iter_rollout_lines(path)]
    assert ordinals == list(range(checker.lines))
    print(f"crash test: seed {seed}, {checker.lines} lines, {checker.torn_rounds} torn tails")
    path.unlink()  # hundreds of megabytes: do not keep them in pytest's kept temp dirs
