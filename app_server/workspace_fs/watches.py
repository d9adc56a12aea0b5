"""`fs/watch` / `fs/unwatch`: file-system watches owned by a connection, reported as
`fs/changed` (codex 0.169's behaviour, observed on the binary).

Each watch runs one `watchfiles` watcher (inotify on Linux) in a task; changes arriving within
`DEBOUNCE_MS` of each other are reported together, one notification per batch listing the paths
that changed. A path that does not exist yet may be watched (codex accepts it): its nearest
existing ancestor is watched and only changes at or below the path are reported. Watch ids are
per connection; a second watch with a live id is refused with codex's text, and unwatching an
unknown id succeeds (as codex). A connection's watches stop when it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable

import watchfiles
from msgspec import Struct

from app_server.errors import InvalidRequest
from app_server.workspace_fs.operations import is_write_temp

log = logging.getLogger(__name__)

DEBOUNCE_MS = 200
"""How long a batch of changes is gathered before one `fs/changed` goes out: a larger value
sends fewer notifications for a burst (a checkout, a build) but reports each change later."""

STEP_MS = 50
"""How often the watcher checks for the end of a batch (`watchfiles` step)."""

MAX_WATCHES_PER_CONNECTION = 1000
"""Watches one connection may hold: each costs an inotify watch per directory below it (the
system limit, `fs.inotify.max_user_watches`, is shared by every process of the user)."""

ChangeSink = Callable[[str, list[str]], None]
"""Receives a watch id and the changed paths (sorted) of one batch."""


class _Watch(Struct):
    path: str
    task: asyncio.Task[None]


class ConnectionWatches:
    """The watches of one connection."""

    def __init__(self, sink: ChangeSink) -> None:
        self._sink = sink
        self._watches: dict[str, _Watch] = {}

    def watch(self, watch_id: str, path: str) -> str:
        """Start watching `path` (absolute, normalized) as `watch_id`; returns the canonical
        path (symlinks resolved) codex answers with."""
        if watch_id in self._watches:
            raise InvalidRequest(f"watchId already exists: {watch_id}")
        if len(self._watches) >= MAX_WATCHES_PER_CONNECTION:
            raise InvalidRequest(
                f"too many watches on this connection (at most {MAX_WATCHES_PER_CONNECTION})"
            )
        canonical = os.path.realpath(path)
        task = asyncio.create_task(self._run(watch_id, canonical), name=f"fs/watch {watch_id}")
        self._watches[watch_id] = _Watch(canonical, task)
        return canonical

    def unwatch(self, watch_id: str) -> None:
        """Stop `watch_id` (an unknown id is fine, as in codex)."""
        watch = self._watches.pop(watch_id, None)
        if watch is not None:
            watch.task.cancel()

    async def close(self) -> None:
        """Stop every watch and wait for their watchers to end."""
        watches, self._watches = list(self._watches.values()), {}
        for watch in watches:
            watch.task.cancel()
        for watch in watches:
            with contextlib.suppress(asyncio.CancelledError):
                await watch.task

    async def _run(self, watch_id: str, path: str) -> None:
        target, recursive = _watch_target(path)
        prefix = path.rstrip("/") + "/"
        try:
            async for changes in watchfiles.awatch(
                target,
                watch_filter=None,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                recursive=recursive,
                ignore_permission_denied=True,
            ):
                changed = sorted(
                    {
                        p
                        for _, p in changes
                        if (p == path or p.startswith(prefix) or path == "/")
                        and not is_write_temp(p)
                    }
                )
                if changed:
                    self._sink(watch_id, changed)
        except asyncio.CancelledError:
            raise
        except Exception:  # the watched tree vanished, inotify limits: the watch ends quietly
            log.info("fs/watch %s on %s ended", watch_id, path, exc_info=True)


def _watch_target(path: str) -> tuple[str, bool]:
    """What to give the watcher for `path`: itself (recursively) when it exists, else its
    nearest existing ancestor, whose direct children are watched."""
    if os.path.exists(path):
        return path, True
    parent = os.path.dirname(path)
    while parent != "/" and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    return parent, False
