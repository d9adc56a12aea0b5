"""Which archived threads `storage prune --older-than D` removes, decided from the files alone.

Why from the files: the dry run must change nothing and must work with or without a server
running, so it cannot open (let alone create) the SQLite index or take a writer lock. Everything
it needs is in the rollouts: the stats say archived or live and how old, and the first line
(`session_meta`) of each rollout says who spawned it and whose history it builds on.

Rules (the same ones `--apply` re-checks against the index before each deletion):
- **Candidates** are archived threads whose *age* is greater than D. Age is the time since the
  rollout file was last modified, i.e. since the thread's last activity: archiving (a rename)
  and compression (which copies the mtime) both preserve it. The index's `archived_at` is not
  used: it is only known for threads archived through our server, is lost by an index rebuild,
  and reading it would mean opening the index. Live threads are never candidates.
- Deleting a thread deletes its spawned sub-agent threads too (`thread/delete` cascades). A
  candidate is removed only when every thread in that subtree is itself a candidate (archived
  and older than D); a subtree holding a live or a recently modified thread is **skipped**, so
  prune never deletes anything live or recent.
- A candidate whose subtree is still referenced by the history of another thread (a paginated
  fork's `history_base`, an attached fork) is skipped, as `thread/delete` refuses it — unless
  that thread is removed by the same prune.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import zstandard
from msgspec import Struct

from app_server.rollout.thread_metadata import MetadataAccumulator
from app_server.storage_admin.inventory import RolloutEntry, scan_rollouts
from app_server.store.local.rollout_reader import CHUNK_SIZE, open_rollout

MAX_FIRST_LINE_BYTES = 64 * 1024 * 1024
"""A `session_meta` line longer than this is not read (the thread's links count as unknown)."""


class ThreadLinks(Struct, frozen=True):
    """What a rollout's `session_meta` says about other threads."""

    parent_id: str | None
    """The thread that spawned this one (sub-agents), else `None`."""
    history_refs: frozenset[str]
    """Threads whose history this one builds on: its `history_base` thread, an attached fork's
    source. Deleting one of those would break this thread (§8.3 of STORAGE.md)."""


NO_LINKS = ThreadLinks(None, frozenset())


class PlannedRemoval(Struct, frozen=True):
    """One `delete_tree` call: a candidate and the archived sub-agent threads removed with it."""

    root: RolloutEntry
    spawned: tuple[RolloutEntry, ...]

    @property
    def entries(self) -> tuple[RolloutEntry, ...]:
        """The root first, then its spawned threads."""
        return (self.root, *self.spawned)

    @property
    def bytes(self) -> int:
        """Size of every rollout removed."""
        return sum(entry.size for entry in self.entries)


class SkippedThread(Struct, frozen=True):
    """A candidate that is (or was, at `--apply`) left in place, and why."""

    thread_id: str
    bytes: int
    mtime_ns: int
    reason: str


class PrunePlan(Struct, frozen=True):
    """What a prune removes and skips; `now_ns - cutoff_ns` is the `--older-than` duration."""

    data_dir: Path
    older_than: str
    now_ns: int
    cutoff_ns: int
    removals: tuple[PlannedRemoval, ...]
    """Newest first (a fork is removed before the thread its history builds on)."""
    skipped: tuple[SkippedThread, ...]
    prunable: Mapping[str, RolloutEntry]
    """Every archived thread older than the cutoff, by id (what a deleted subtree may hold)."""

    @property
    def bytes(self) -> int:
        """Size of every rollout the plan removes."""
        return sum(removal.bytes for removal in self.removals)

    @property
    def thread_count(self) -> int:
        """Number of threads the plan removes (roots and spawned threads)."""
        return sum(len(removal.entries) for removal in self.removals)

    def age_seconds(self, mtime_ns: int) -> float:
        """A file's age at planning time."""
        return (self.now_ns - mtime_ns) / 1e9


def make_plan(
    data_dir: Path, older_than: timedelta, label: str, *, now_ns: int | None = None
) -> PrunePlan:
    """Decide what `storage prune` removes (see the module docstring); changes nothing.

    `label` is the duration as the user typed it (for messages). Rollouts are only read (their
    first line) when at least one archived thread is old enough.
    """
    now = time.time_ns() if now_ns is None else now_ns
    cutoff = now - (older_than // timedelta(microseconds=1)) * 1000
    by_id: dict[str, RolloutEntry] = {}
    for entry in scan_rollouts(data_dir):
        by_id.setdefault(entry.thread_id, entry)  # live files come first: such a thread is live
    prunable = {
        thread_id: entry
        for thread_id, entry in by_id.items()
        if entry.archived and entry.mtime_ns < cutoff
    }
    if not prunable:
        return PrunePlan(data_dir, label, now, cutoff, (), (), prunable)
    links = {thread_id: read_links(entry.path) for thread_id, entry in by_id.items()}
    children: dict[str, list[str]] = defaultdict(list)
    referencers: dict[str, set[str]] = defaultdict(set)
    for thread_id, link in links.items():
        if link.parent_id is not None and link.parent_id != thread_id:
            children[link.parent_id].append(thread_id)
        for referenced in link.history_refs:
            referencers[referenced].add(thread_id)

    trees: dict[str, list[str]] = {}
    skipped: dict[str, str] = {}
    for candidate in sorted(prunable):
        tree = _subtree(candidate, children)
        blocker = next((member for member in tree if member not in prunable), None)
        if blocker is None:
            trees[candidate] = tree
        else:
            skipped[candidate] = _blocker_reason(by_id[blocker], label)
    _drop_fork_referenced(trees, referencers, skipped)

    inner = {member for tree in trees.values() for member in tree[1:]}
    roots = sorted(
        (root for root in trees if root not in inner),
        key=lambda root: (-by_id[root].mtime_ns, root),
    )
    removals = tuple(
        PlannedRemoval(by_id[root], tuple(by_id[member] for member in trees[root][1:]))
        for root in roots
    )
    removed = {entry.thread_id for removal in removals for entry in removal.entries}
    return PrunePlan(
        data_dir=data_dir,
        older_than=label,
        now_ns=now,
        cutoff_ns=cutoff,
        removals=removals,
        skipped=tuple(
            SkippedThread(thread_id, by_id[thread_id].size, by_id[thread_id].mtime_ns, reason)
            for thread_id, reason in sorted(skipped.items())
            if thread_id not in removed
        ),
        prunable=prunable,
    )


def _subtree(root: str, children: Mapping[str, Sequence[str]]) -> list[str]:
    """`root` then its spawned descendants at any depth (breadth first; cycles are cut)."""
    tree = [root]
    seen = {root}
    for node in tree:  # the list grows while we walk it
        for child in sorted(children.get(node, ())):
            if child not in seen:
                seen.add(child)
                tree.append(child)
    return tree


def _blocker_reason(blocker: RolloutEntry, label: str) -> str:
    if not blocker.archived:
        return f"spawned thread {blocker.thread_id} is live (not archived)"
    return f"spawned thread {blocker.thread_id} was modified within the last {label}"


def _drop_fork_referenced(
    trees: dict[str, list[str]], referencers: Mapping[str, set[str]], skipped: dict[str, str]
) -> None:
    """Remove from `trees` every candidate whose subtree is referenced from outside what is
    removed, until none is (dropping one may expose another)."""
    changed = True
    while changed:
        changed = False
        removed = {member for tree in trees.values() for member in tree}
        for candidate, tree in sorted(trees.items()):
            members = set(tree)
            outside = sorted(
                referencer
                for member in tree
                for referencer in referencers.get(member, ())
                if referencer not in members and referencer not in removed
            )
            if outside:
                del trees[candidate]
                skipped[candidate] = f"forked history of thread {outside[0]} still references it"
                changed = True
                break


def read_links(path: Path) -> ThreadLinks:
    """The links in a rollout's first line (`session_meta`); none when it cannot be read.

    Reads at most the first line (one chunk for a typical rollout), plain or compressed.
    """
    try:
        first = _first_line(path)
    except (OSError, zstandard.ZstdError):
        return NO_LINKS
    if first is None:
        return NO_LINKS
    try:
        record = orjson.loads(first)
    except orjson.JSONDecodeError:
        return NO_LINKS
    if not isinstance(record, dict) or record.get("type") != "session_meta":
        return NO_LINKS
    payload = record.get("payload")
    if not isinstance(payload, dict):
        return NO_LINKS
    return _links_from_meta(payload, record.get("timestamp"))


def _links_from_meta(payload: dict[str, Any], timestamp: Any) -> ThreadLinks:
    accumulator = MetadataAccumulator()
    accumulator.apply_own_session_meta(payload, timestamp)
    try:
        meta = accumulator.snapshot()
    except ValueError:  # malformed history_base: lineage is unknown
        return NO_LINKS
    if meta is None:
        return NO_LINKS
    refs: set[str] = set()
    if meta.history_base is not None:
        refs.add(meta.history_base.thread_id.lower())
    if meta.attached_thread and meta.forked_from_id:
        refs.add(meta.forked_from_id.lower())
    parent = meta.parent_thread_id.lower() if meta.parent_thread_id else None
    return ThreadLinks(parent, frozenset(refs))


def _first_line(path: Path) -> bytes | None:
    """The first complete line of a rollout (decompressed), or `None` (empty, torn, too long)."""
    parts: list[bytes] = []
    total = 0
    with open_rollout(path) as stream:
        while total < MAX_FIRST_LINE_BYTES:
            chunk = stream.read(CHUNK_SIZE)
            if not chunk:
                return None
            newline = chunk.find(b"\n")
            if newline >= 0:
                parts.append(chunk[:newline])
                return b"".join(parts)
            parts.append(chunk)
            total += len(chunk)
    return None
