"""The cross-process single-writer lock of a thread (`thread-writer-locks/<uuid>.lock`)."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import sys
from pathlib import Path

import pytest

from app_server.errors import INVALID_REQUEST, Conflict
from app_server.ids import uuid7
from app_server.rpc.errors import as_rpc_error
from app_server.store.interface import WriterBusy
from app_server.store.local.writer_lock import (
    COORDINATION_LOCK_NAME,
    ThreadWriterBusy,
    ThreadWriterLock,
    writer_lock_path,
    writer_locks_dir,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

TRY_LOCK_SCRIPT = """
import sys
from pathlib import Path
from app_server.store.local.writer_lock import ThreadWriterBusy, ThreadWriterLock
lock = ThreadWriterLock(Path(sys.argv[1]), sys.argv[2])
try:
    lock.acquire_blocking()
except ThreadWriterBusy as error:
    print(error)
    sys.exit(3)
print("acquired")
lock.release_blocking()
"""

HOLD_LOCK_SCRIPT = """
import sys, time
from pathlib import Path
from app_server.store.local.writer_lock import ThreadWriterLock
lock = ThreadWriterLock(Path(sys.argv[1]), sys.argv[2])
lock.acquire_blocking()
print("held", flush=True)
time.sleep(60)
"""


def _child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


async def _run_python(script: str, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        *args,
        stdout=asyncio.subprocess.PIPE,
        env=_child_env(),
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, stdout.decode()


async def test_acquire_creates_the_lock_file_under_thread_writer_locks(tmp_path: Path) -> None:
    thread_id = uuid7()
    lock = ThreadWriterLock(tmp_path, thread_id)
    await lock.acquire()
    assert lock.held
    assert lock.path == tmp_path / "thread-writer-locks" / f"{thread_id}.lock"
    assert lock.path.is_file()
    assert (writer_locks_dir(tmp_path) / COORDINATION_LOCK_NAME).is_file()
    await lock.release()


async def test_release_removes_the_lock_file(tmp_path: Path) -> None:
    lock = ThreadWriterLock(tmp_path, uuid7())
    await lock.acquire()
    await lock.release()
    assert not lock.held
    assert not lock.path.exists()


async def test_second_acquisition_in_the_same_process_is_refused(tmp_path: Path) -> None:
    thread_id = uuid7()
    first = ThreadWriterLock(tmp_path, thread_id)
    await first.acquire()
    with pytest.raises(ThreadWriterBusy, match="already has an active writer"):
        await ThreadWriterLock(tmp_path, thread_id).acquire()
    assert first.path.exists()  # the refused attempt did not remove the holder's file
    await first.release()


async def test_busy_error_names_the_thread_and_is_answered_as_a_conflict(tmp_path: Path) -> None:
    thread_id = uuid7()
    async with ThreadWriterLock(tmp_path, thread_id):
        with pytest.raises(ThreadWriterBusy) as caught:
            await ThreadWriterLock(tmp_path, thread_id).acquire()
    assert str(caught.value) == f"thread {thread_id} already has an active writer"
    assert isinstance(caught.value, WriterBusy)  # what the store interface promises
    answer = as_rpc_error(caught.value, method="thread/resume")  # the store error table's answer
    assert isinstance(answer, Conflict)
    assert answer.code == INVALID_REQUEST
    assert answer.message == f"thread {thread_id} already has an active writer"


async def test_acquisition_from_a_second_process_is_refused(tmp_path: Path) -> None:
    thread_id = uuid7()
    async with ThreadWriterLock(tmp_path, thread_id):
        code, output = await _run_python(TRY_LOCK_SCRIPT, str(tmp_path), thread_id)
    assert code == 3
    assert output.strip() == f"thread {thread_id} already has an active writer"


async def test_second_process_acquires_after_release(tmp_path: Path) -> None:
    thread_id = uuid7()
    async with ThreadWriterLock(tmp_path, thread_id):
        pass
    code, output = await _run_python(TRY_LOCK_SCRIPT, str(tmp_path), thread_id)
    assert (code, output.strip()) == (0, "acquired")


async def test_lock_of_a_killed_process_is_free_although_its_file_remains(tmp_path: Path) -> None:
    thread_id = uuid7()
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLD_LOCK_SCRIPT,
        str(tmp_path),
        thread_id,
        stdout=asyncio.subprocess.PIPE,
        env=_child_env(),
    )
    assert holder.stdout is not None
    assert await asyncio.wait_for(holder.stdout.readline(), timeout=30) == b"held\n"
    with pytest.raises(ThreadWriterBusy):
        await ThreadWriterLock(tmp_path, thread_id).acquire()
    holder.send_signal(signal.SIGKILL)
    await holder.wait()
    assert writer_lock_path(tmp_path, thread_id).exists()
    async with ThreadWriterLock(tmp_path, thread_id) as lock:
        assert lock.held


async def test_lock_can_be_taken_again_after_release(tmp_path: Path) -> None:
    thread_id = uuid7()
    async with ThreadWriterLock(tmp_path, thread_id):
        pass
    async with ThreadWriterLock(tmp_path, thread_id) as again:
        assert again.held


async def test_context_manager_releases_on_error(tmp_path: Path) -> None:
    lock = ThreadWriterLock(tmp_path, uuid7())
    with pytest.raises(RuntimeError):
        async with lock:
            raise RuntimeError("boom")
    assert not lock.held
    assert not lock.path.exists()


async def test_release_is_idempotent(tmp_path: Path) -> None:
    lock = ThreadWriterLock(tmp_path, uuid7())
    await lock.acquire()
    await lock.release()
    await lock.release()
    assert not lock.held


async def test_non_uuid_thread_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid thread id"):
        ThreadWriterLock(tmp_path, "../escape")


async def test_waiting_for_coordination_does_not_block_the_event_loop(tmp_path: Path) -> None:
    locks_dir = writer_locks_dir(tmp_path)
    locks_dir.mkdir(parents=True)
    coordination = os.open(locks_dir / COORDINATION_LOCK_NAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(coordination, fcntl.LOCK_EX)  # a busy coordinator elsewhere
    lock = ThreadWriterLock(tmp_path, uuid7())
    acquiring = asyncio.create_task(lock.acquire())
    ticks = 0
    for _ in range(10):
        await asyncio.sleep(0.01)
        ticks += 1
    assert ticks == 10
    assert not acquiring.done()
    os.close(coordination)
    await asyncio.wait_for(acquiring, timeout=10)
    assert lock.held
    await lock.release()


async def test_cancelled_acquire_does_not_leak_the_lock(tmp_path: Path) -> None:
    thread_id = uuid7()
    locks_dir = writer_locks_dir(tmp_path)
    locks_dir.mkdir(parents=True)
    coordination = os.open(locks_dir / COORDINATION_LOCK_NAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(coordination, fcntl.LOCK_EX)
    acquiring = asyncio.create_task(ThreadWriterLock(tmp_path, thread_id).acquire())
    await asyncio.sleep(0.05)  # the worker thread now waits for the coordination lock
    acquiring.cancel()
    with pytest.raises(asyncio.CancelledError):
        await acquiring
    os.close(coordination)  # the worker acquires, then the lock is given back
    for _ in range(500):
        lock = ThreadWriterLock(tmp_path, thread_id)
        try:
            await lock.acquire()
        except ThreadWriterBusy:
            await asyncio.sleep(0.01)  # the cancelled acquisition has not been undone yet
            continue
        await lock.release()
        return
    pytest.fail("the lock taken by the cancelled acquisition was never released")
