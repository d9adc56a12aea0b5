"""`storage prune --apply`: carry out a `PrunePlan` through the store.

Why through `LocalThreadStore.delete_tree` and not by unlinking files: deletion must keep every
rule of `thread/delete` (STORAGE.md §8) — spawned sub-agent threads go with their parent, the
index rows and spawn edges and the `session_index.jsonl` names go with the files, each file is
removed under its writer lock, and a thread whose history another thread builds on is refused.

The plan was made from the files; the index may know more (a spawn edge recorded by a later
`session_meta`), so before each deletion the subtree is re-read from the index and the plan's
rule re-checked: every thread in it must be archived and older than the cutoff. Then each
thread's writer lock is probed, so a thread that a running server or codex has open makes the
whole subtree a skip before anything of it is deleted. What is skipped is reported with its
reason; skips are not errors. A removal that fails (an I/O error) is reported as failed and
the others go on.
"""

from __future__ import annotations

import logging
from pathlib import Path

from msgspec import Struct, field

from app_server.storage_admin.prune_plan import PlannedRemoval, PrunePlan, SkippedThread
from app_server.store.interface import ForkReferenced, ThreadNotStored, WriterBusy
from app_server.store.local.compression_worker import CompressionSettings
from app_server.store.local.store import LocalThreadStore
from app_server.store.local.writer_lock import ThreadWriterLock

log = logging.getLogger(__name__)

ACTIVE_WRITER_REASON = "a server or codex has it open (active writer)"
FORK_REASON = "forked history of another thread still references it"


class RemovedThread(Struct, frozen=True):
    """A thread whose rollout and index entries were deleted; `root` is the candidate it went
    with (itself for a candidate, its ancestor for a spawned sub-agent thread)."""

    thread_id: str
    bytes: int
    mtime_ns: int
    root: str


class PruneResult(Struct):
    """What `--apply` did."""

    removed: list[RemovedThread] = field(default_factory=list)
    skipped: list[SkippedThread] = field(default_factory=list)
    failed: list[SkippedThread] = field(default_factory=list)
    """Removals that hit an error (a file system error, a malformed id): left as they were,
    or partly removed; the reason is the error. The command then exits with 1."""

    @property
    def bytes_freed(self) -> int:
        """Size of every removed rollout (as stat'ed when planning)."""
        return sum(thread.bytes for thread in self.removed)


class _Retry(Exception):
    """A fork still references the subtree; another removal of this run may lift that."""


async def apply_plan(plan: PrunePlan) -> PruneResult:
    """Delete what `plan` removes, skipping whatever is no longer safe; see the module docstring.

    Opens the store only when there is something to remove. Removals whose subtree a fork still
    references are retried after the others (the fork may be removed by this same run).
    """
    result = PruneResult(skipped=list(plan.skipped))
    if not plan.removals:
        return result
    # Pruning must not rewrite other files: no background compression run (off by default;
    # said explicitly so a changed default cannot turn it on here).
    store = LocalThreadStore(plan.data_dir, compression=CompressionSettings(enabled=False))
    for warning in await store.start():
        log.warning("%s%s", warning.summary, f": {warning.details}" if warning.details else "")
    try:
        await store.wait_until_scanned()
        pending = list(plan.removals)
        while pending:
            retry: list[PlannedRemoval] = []
            for removal in pending:
                try:
                    await _remove(store, plan, removal, result)
                except _Retry:
                    retry.append(removal)
                except (OSError, ValueError) as exc:
                    log.exception("could not delete thread %s", removal.root.thread_id)
                    result.failed.append(_skip(removal, f"{type(exc).__name__}: {exc}"))
            if len(retry) == len(pending):
                result.skipped.extend(_skip(removal, FORK_REASON) for removal in retry)
                break
            pending = retry
    finally:
        await store.close()
    return result


async def _remove(
    store: LocalThreadStore, plan: PrunePlan, removal: PlannedRemoval, result: PruneResult
) -> None:
    root_id = removal.root.thread_id
    record = await store.get(root_id)
    if record is None:
        result.skipped.append(_skip(removal, "no longer stored"))
        return
    if not record.archived:
        result.skipped.append(_skip(removal, "no longer archived"))
        return
    tree = {root_id} | await store.index.descendant_ids(root_id)
    for member in sorted(tree - {root_id}):
        if member in plan.prunable:
            continue
        member_record = await store.index.get(member)
        if member_record is None:
            continue  # no file: nothing of it to delete
        state = "is live (not archived)" if not member_record.archived else "is recent"
        result.skipped.append(_skip(removal, f"spawned thread {member} {state}"))
        return
    if not await _writers_idle(plan.data_dir, tree):
        result.skipped.append(_skip(removal, ACTIVE_WRITER_REASON))
        return
    try:
        deleted = await store.delete_tree(root_id)
    except ForkReferenced:
        raise _Retry from None
    except ThreadNotStored:
        result.skipped.append(_skip(removal, "no longer stored"))
        return
    except WriterBusy:
        # Opened between the probe and the deletion; spawned threads deleted before the busy
        # one are gone (deepest first, each one atomically).
        deleted = [member for member in tree if await store.index.get(member) is None]
        result.skipped.append(_skip(removal, ACTIVE_WRITER_REASON))
    for thread_id in deleted:
        entry = plan.prunable.get(thread_id)
        result.removed.append(
            RemovedThread(
                thread_id,
                entry.size if entry else 0,
                entry.mtime_ns if entry else 0,
                root_id,
            )
        )


async def _writers_idle(data_dir: Path, thread_ids: set[str]) -> bool:
    """Whether no thread of `thread_ids` has an active writer right now (take and give back
    each writer lock; nothing is held afterwards)."""
    for thread_id in sorted(thread_ids):
        lock = ThreadWriterLock(data_dir, thread_id)
        try:
            await lock.acquire()
        except WriterBusy:
            return False
        await lock.release()
    return True


def _skip(removal: PlannedRemoval, reason: str) -> SkippedThread:
    root = removal.root
    return SkippedThread(root.thread_id, removal.bytes, root.mtime_ns, reason)
