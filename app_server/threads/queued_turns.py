"""A thread's queue of user messages waiting for their turn (`thread/queue/*`), as codex 0.169
keeps it (checked against the binary).

A message added while a turn runs waits; when the turn ends the first waiting message starts a
turn of its own (`thread/queue/changed`, then its `turn/started`), and so on in order. A message
added to an idle loaded thread starts at once. Clients may edit, delete and reorder what waits,
or start one now (`thread/queue/start`, refused while a turn runs). Every change is announced
with `thread/queue/changed` (after the answer) and written at once, so the queue survives a
restart: one JSON file per thread under `<data dir>/queues/`, replaced atomically (codex keeps
it in `queue_1.sqlite`). A thread that is stored but not loaded keeps its queue; it starts when
a turn of the loaded thread ends or on `thread/queue/start`. An interrupted turn does not start
the next message (an unload or a shutdown interrupts turns too; nothing queued is lost).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from app_server.agent.turn_runner import TurnRunner
from app_server.agent.turn_setup import PendingInput
from app_server.client_connection import ClientConnection
from app_server.durable_files import replace_atomically
from app_server.errors import Conflict, InvalidRequest, NotFound
from app_server.ids import uuid7
from app_server.threads.loaded_thread import LoadedThread
from app_server.threads.manager import ThreadManager
from app_server.threads.turn_origin import TurnOrigin
from app_server.threads.turns import ThreadTurns
from protocol.types import QueuedSubmission, ThreadQueueChangedNotification, UserInput
from protocol.wire_model import DEFERRED

log = logging.getLogger(__name__)

QUEUE_DIR = "queues"
"""Where the queues live under the data dir (one `<thread id>.json` each)."""

MAX_QUEUED_SUBMISSIONS = 1000
"""Most messages one thread's queue holds; each is kept in memory and rewritten with the file
on every change, so the bound caps that work (a client queuing more gets `-32600`)."""

QUEUE_ORIGINATOR = "queue"
"""The originator of a queued turn started by the server itself (when the previous turn ends)."""

_SUBMISSIONS = TypeAdapter(list[QueuedSubmission], config=DEFERRED)


class QueuedTurns:
    """Every thread's queue, loaded from disk on first use."""

    def __init__(self, manager: ThreadManager, turns: ThreadTurns) -> None:
        self._manager = manager
        self._turns = turns
        self._dir = manager.data_dir / QUEUE_DIR
        self._queues: dict[str, list[QueuedSubmission]] = {}
        self._starting: set[asyncio.Task[None]] = set()
        self._writing: dict[str, asyncio.Lock] = {}
        """One lock per thread whose queue file is being written."""
        """Queued turns being started after a turn ended (kept referenced until done)."""
        turns.on_turn_ended = self._turn_ended

    async def _existing(self, thread_id: str) -> list[QueuedSubmission]:
        """The thread's queue; `NotFound` for a thread neither loaded nor stored."""
        if thread_id not in self._queues:
            if (
                self._manager.loaded(thread_id) is None
                and await self._manager.store.get(thread_id) is None
            ):
                raise NotFound(f"thread not found: {thread_id}")
            read = await asyncio.to_thread(self._read, thread_id)
            return self._queues.setdefault(thread_id, read)  # a concurrent first read won
        return self._queues[thread_id]

    def _path(self, thread_id: str) -> Path:
        return self._dir / f"{thread_id}.json"

    def _read(self, thread_id: str) -> list[QueuedSubmission]:
        try:
            return _SUBMISSIONS.validate_json(self._path(thread_id).read_bytes())
        except FileNotFoundError:
            return []
        except (OSError, ValidationError):
            log.exception("the queue of %s could not be read; starting it empty", thread_id)
            return []

    async def persist(self, thread_id: str) -> None:
        """Write the thread's queue (before the change is answered). One write per thread at
        a time (they share the temporary file), each of the queue as it is then."""
        lock = self._writing.setdefault(thread_id, asyncio.Lock())
        async with lock:
            data = _SUBMISSIONS.dump_json(self._queues.get(thread_id, []), by_alias=True)
            await asyncio.to_thread(replace_atomically, self._path(thread_id), data)

    def announce(self, thread_id: str, *, start_as: str | None = None) -> None:
        """After a change was answered: `thread/queue/changed`. With `start_as` (the turn's
        originator), a loaded idle thread first starts its first waiting message, and the
        one notification announces both."""
        thread = self._manager.loaded(thread_id)
        if thread is None:
            return
        if start_as is not None and self._queues.get(thread_id) and not _busy(thread):
            task = asyncio.get_running_loop().create_task(
                self._start_next(thread, start_as), name=f"queued turn of {thread_id}"
            )
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)
            return
        self._manager.publish(thread, ThreadQueueChangedNotification(thread_id=thread_id))

    async def _start_next(self, thread: LoadedThread, client: str) -> None:
        queue = self._queues.get(thread.id)
        if not queue or _busy(thread) or self._manager.loaded(thread.id) is not thread:
            return
        submission = queue.pop(0)
        await self.persist(thread.id)
        self._manager.publish(thread, ThreadQueueChangedNotification(thread_id=thread.id))
        try:
            runner = await self._runner(thread, submission, client)
        except Exception:  # e.g. unloaded meanwhile: the message is not lost
            log.exception("starting the queued message of %s failed", thread.id)
            queue.insert(0, submission)
            await self.persist(thread.id)
            return
        self._turns.launch(thread.id, runner)

    # -- the methods -----------------------------------------------------------------------------
    async def waiting(self, thread_id: str) -> list[QueuedSubmission]:
        return list(await self._existing(thread_id))

    async def add(self, thread_id: str, submission: QueuedSubmission) -> QueuedSubmission:
        if not submission.input:
            raise InvalidRequest("only user input can be added to the user-message queue")
        queue = await self._existing(thread_id)
        if len(queue) >= MAX_QUEUED_SUBMISSIONS:
            raise InvalidRequest(f"the queue holds at most {MAX_QUEUED_SUBMISSIONS} messages")
        queued = submission.model_copy(update={"id": uuid7()})
        queue.append(queued)
        return queued

    async def update(
        self,
        thread_id: str,
        submission_id: str,
        inputs: list[UserInput],
        metadata: dict[str, str] | None,
    ) -> QueuedSubmission:
        queue = await self._existing(thread_id)
        index = _index(queue, submission_id)
        update: dict[str, object] = {"input": inputs}
        if metadata:  # an empty or absent map keeps the old metadata
            update["responsesapi_client_metadata"] = metadata
        queue[index] = queue[index].model_copy(update=update)
        return queue[index]

    async def delete(self, thread_id: str, submission_id: str) -> bool:
        queue = await self._existing(thread_id)
        kept = [s for s in queue if s.id != submission_id]
        if len(kept) == len(queue):
            return False
        queue[:] = kept
        return True

    async def reorder(self, thread_id: str, submission_ids: list[str]) -> None:
        queue = await self._existing(thread_id)
        by_id = {s.id: s for s in queue}
        if len(submission_ids) != len(queue) or set(submission_ids) != by_id.keys():
            raise InvalidRequest("queue reorder must include every queued submission exactly once")
        queue[:] = [by_id[i] for i in submission_ids]

    async def start(
        self, connection: ClientConnection, thread_id: str, submission_id: str | None
    ) -> TurnRunner:
        """Take one waiting message now (the first, or the one named) for a turn, to launch
        once answered; the queue is written without it."""
        thread = self._manager.require_loaded(thread_id)
        queue = await self._existing(thread_id)
        if _busy(thread):
            raise Conflict("thread already has an active or pending turn")
        if not queue:
            raise InvalidRequest("queue is empty")
        index = 0 if submission_id is None else _index(queue, submission_id)
        runner = await self._runner(thread, queue[index], connection.client_name)
        queue.pop(index)
        await self.persist(thread_id)
        return runner

    async def _runner(
        self, thread: LoadedThread, submission: QueuedSubmission, client: str
    ) -> TurnRunner:
        pending = PendingInput(list(submission.input), submission.client_user_message_id)
        return await self._turns.start_queued(thread, pending, TurnOrigin(None, client))

    def _turn_ended(self, thread: LoadedThread, runner: TurnRunner) -> None:
        """A turn ended: the first waiting message starts next, unless the turn was
        interrupted (by the user, or because the thread is being unloaded or the server stops):
        then the queue waits for `thread/queue/start` or the next turn's end."""
        if self._queues.get(thread.id) and runner.outcome != "interrupted":
            self.announce(thread.id, start_as=QUEUE_ORIGINATOR)


def _busy(thread: LoadedThread) -> bool:
    active = thread.active_turn
    return active is not None and not active.finished


def _index(queue: list[QueuedSubmission], submission_id: str) -> int:
    for index, submission in enumerate(queue):
        if submission.id == submission_id:
            return index
    raise InvalidRequest(f"queued submission not found: {submission_id}")
