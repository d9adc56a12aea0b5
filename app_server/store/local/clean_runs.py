"""Which processes use the index, so a start after a clean shutdown can list at once.

The startup scan settles names and locations before the first listing, because a crash between
a file change and its row update leaves a stale row (`backfill`). After a clean shutdown there is
no such row, so an index-only listing (`useStateDbOnly`, what codex answers from its state DB
without repair) need not wait for it.

Each server registers itself in the index's `meta` table when its store starts (`run:<pid>:<id>`)
and removes the key when it closes cleanly, that is, when no operation that moves or renames
files was interrupted (`RunGuard`). A start that finds no other key knows every earlier process
ended cleanly; a key left by a process that died is removed once this start's scan has settled
what it may have left stale. A key of a process still running keeps the next starts waiting (it
may still crash): conservative, never wrong.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

from app_server.store.local.index_db import ThreadIndex

TRACKED_KEY = "runs_tracked"
"""Set by the first start that registers runs: an index without it was last used by a server
that did not (an older version, or a fresh file), so nothing is known about how it ended."""
RUN_KEY_PREFIX = "run:"
_RUN_KEY_END = "run;"
"""The first key after every `run:` key (`;` follows `:`), for a range scan of the keys."""


def new_run_key() -> str:
    """This process's key: its pid (to tell a dead process's key) and a random part."""
    return f"{RUN_KEY_PREFIX}{os.getpid()}:{uuid.uuid4().hex}"


def pid_of(key: str) -> int | None:
    """The pid a run key names, or None for a key of another shape."""
    try:
        return int(key.removeprefix(RUN_KEY_PREFIX).split(":", 1)[0])
    except ValueError:
        return None


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (a reused pid counts: the key stays, which only
    makes later starts wait)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def begin_run(index: ThreadIndex, key: str) -> bool:
    """Register this run; True when runs were tracked before and no other run is registered
    (every earlier process that used the index shut down cleanly)."""
    async with index.transaction() as db:
        rows = await db.execute_fetchall(
            "SELECT key FROM meta WHERE key >= ? AND key < ?", (RUN_KEY_PREFIX, _RUN_KEY_END)
        )
        tracked = await db.execute_fetchall("SELECT 1 FROM meta WHERE key = ?", (TRACKED_KEY,))
        await db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ''), (?, '')", (TRACKED_KEY, key)
        )
    return bool(list(tracked)) and not list(rows)


async def end_run(index: ThreadIndex, key: str) -> None:
    """Unregister this run (a clean shutdown)."""
    async with index.transaction() as db:
        await db.execute("DELETE FROM meta WHERE key = ?", (key,))


async def forget_dead_runs(
    index: ThreadIndex, own_key: str, alive: Callable[[int], bool] = process_alive
) -> None:
    """Remove the keys of processes that are gone (call once the scan settled what they may
    have left stale)."""
    rows = await index.fetchall(
        "SELECT key FROM meta WHERE key >= ? AND key < ?", (RUN_KEY_PREFIX, _RUN_KEY_END)
    )
    dead = []
    for (key,) in rows:
        pid = pid_of(key)
        if key != own_key and (pid is None or not alive(pid)):
            dead.append(key)
    if not dead:
        return
    async with index.transaction() as db:
        await db.executemany("DELETE FROM meta WHERE key = ?", [(key,) for key in dead])


class RunGuard:
    """Counts the operations that change files and rows in two steps; one that did not finish
    (an error, a cancellation at shutdown) makes the run unclean."""

    def __init__(self) -> None:
        self.active = 0
        self.interrupted = False

    def enter(self) -> None:
        self.active += 1

    def leave(self, *, finished: bool) -> None:
        self.active -= 1
        if not finished:
            self.interrupted = True

    @property
    def clean(self) -> bool:
        """Whether no such operation is running or was cut short."""
        return self.active == 0 and not self.interrupted
