"""A loaded thread's rollout writer, as the thread manager gets it: created for a new thread,
opened for a stored one.

A new thread has no file until its first turn needs one (`ThreadManager.writer_for`): the rollout
is then created with its `session_meta` line, git info of the thread's cwd included, collected
while the model provider's HTTP stack is imported (issue 17). A stored thread's writer is opened
when the thread is loaded (`ThreadManager.resume`), and a turn the previous process never
finished is recorded as interrupted. The manager decides when (it holds the thread's lock and
knows what is loaded); this module says what is opened and written, which keeps the manager to
its own concern, the loaded threads and their subscribers.
"""

from __future__ import annotations

import asyncio
import logging

from app_server.agent.providers.factory import preload_transports
from app_server.ids import uuid7
from app_server.notification import now_ms
from app_server.rollout import turn_lifecycle
from app_server.rollout.lines import GitMeta
from app_server.store.interface import ThreadHistory, ThreadStore, ThreadWriter
from app_server.threads.git_info import collect_git_info, with_git
from app_server.threads.loaded_thread import LoadedThread
from app_server.threads.session_meta import meta_version, session_meta_line
from app_server.threads.stored_reads import StoredReads

log = logging.getLogger(__name__)


async def create_rollout(store: ThreadStore, thread: LoadedThread) -> None:
    """Create the thread's rollout with its `session_meta` line (the git info it records is the
    thread's record's too) and hand the writer to the thread. The caller holds the thread's lock
    and has checked that it is still loaded."""
    git = await _git_info_while_preloading(thread.settings.cwd)
    thread.record = with_git(thread.record, git)
    writer = await store.create_writer(
        thread.id,
        created_at_ms=thread.record.created_at_ms,
        history_mode=thread.record.history_mode,
        name=thread.record.name,
    )
    writer.append(
        [
            session_meta_line(
                thread.record,
                thread.settings,
                multi_agent_version=meta_version(thread.multi_agent_version),
                window_id=thread.initial_window_id,
                git=git,
            )
        ]
    )
    thread.rollout_created(writer)


async def _git_info_while_preloading(cwd: str) -> GitMeta | None:
    """`collect_git_info(cwd)` for a thread's first turn, with the model provider's HTTP
    stack imported while git runs (issue 17).

    The git commands are child processes: they run on another core while this one would
    only wait, and the turn imports the HTTP stack (~30 ms of CPU) right after anyway. So
    the first git command is started, the imports run, then its answer is awaited: spawn
    → first `turn/completed` saves the shorter of the two. The background warm-up would
    import the same modules, but only after a pause without requests, which a client
    sending `turn/start` right behind `thread/start` never leaves. (The import yields
    between modules: in a repository, the three other git commands start as soon as the
    first one has ended.)"""
    collecting = asyncio.ensure_future(collect_git_info(cwd))
    await asyncio.sleep(0)  # the task's first step spawns `git rev-parse --git-dir`
    try:
        await preload_transports()
    except Exception:  # imported on first use instead, where a failure is reported
        log.debug("preloading the provider transports failed", exc_info=True)
    return await collecting


async def open_stored_rollout(
    store: ThreadStore, reads: StoredReads, thread_id: str
) -> tuple[ThreadWriter, ThreadHistory]:
    """A stored thread's writer and its history, a turn left in progress closed; the writer is
    closed again if the history cannot be had."""
    # The writer first: opening it repairs a torn last line, and the history read next must
    # be the repaired one.
    writer = await store.open_writer(thread_id)
    try:
        history = await reads.read_history(thread_id)
        if history.turns and history.turns[-1].turn.status == "inProgress":
            history = await _close_dangling_turn(writer, reads, history)
    except BaseException:
        await writer.close()
        raise
    return writer, history


async def _close_dangling_turn(
    writer: ThreadWriter, reads: StoredReads, history: ThreadHistory
) -> ThreadHistory:
    """A turn the previous process never finished (it crashed or was killed mid-turn) is
    recorded as interrupted, as if `turn/interrupt` had reached it, so history stays true."""
    turn = history.turns[-1].turn
    started_at = turn.started_at or now_ms() // 1000
    completed_at = max(started_at, now_ms() // 1000)
    writer.append(
        [
            turn_lifecycle.turn_aborted_notice(turn.id, f"msg_{uuid7()}"),
            turn_lifecycle.turn_aborted(
                turn.id,
                turn.root_turn_id or turn.id,
                started_at=started_at,
                completed_at=completed_at,
                duration_ms=(completed_at - started_at) * 1000,
            ),
        ]
    )
    await writer.sync()
    return await reads.read_history(history.record.id)
