"""Whole-file operations on one thread's rollout: move it (archive/unarchive) or remove it.

A thread's content may sit under its plain name, its `.zst` name, or briefly both (STORAGE.md
§6); these functions always act on both names, so no half of a thread is left behind. They block
(run them in a worker thread) and expect the caller to hold the thread's writer lock, which keeps
writers and the compressor out while the names change.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from app_server.durable_files import fsync_dir
from app_server.store.local.rollout_files import plain_rollout_path, zst_rollout_path


def move_rollout_files(path: Path, target_plain: Path) -> None:
    """Move the rollout at `path` (either name) to `target_plain` (and its `.zst` sibling).

    Raises `FileExistsError` rather than replace a file at the target, and `FileNotFoundError`
    when neither name exists at `path` (the file moved since it was located).
    """
    plain = plain_rollout_path(path)
    pairs = [
        (source, target)
        for source, target in (
            (plain, target_plain),
            (zst_rollout_path(plain), zst_rollout_path(target_plain)),
        )
        if source.exists()
    ]
    if not pairs:
        raise FileNotFoundError(f"no rollout at {plain}")
    for _, target in pairs:
        if target.exists():
            raise FileExistsError(f"{target} already exists")
    target_plain.parent.mkdir(parents=True, exist_ok=True)
    for source, target in pairs:
        os.rename(source, target)
    fsync_dir(target_plain.parent)
    fsync_dir(plain.parent)


def unlink_rollout_files(path: Path) -> None:
    """Remove the rollout at `path` under both names (the `.zst` first: the plain file is what
    readers prefer, so it goes last)."""
    plain = plain_rollout_path(path)
    for name in (zst_rollout_path(plain), plain):
        name.unlink(missing_ok=True)
    fsync_dir(plain.parent)


def deepest_first(root: str, tree: set[str], parents: Mapping[str, str | None]) -> list[str]:
    """The threads of a spawn tree ordered deepest first (ties by id), so a cascade removes
    children before their parents and a crash midway never orphans a listed child."""

    def depth(node: str) -> int:
        steps, current = 0, node
        while current != root and steps < len(tree):
            parent = parents.get(current)
            if parent is None or parent not in tree:
                break
            current = parent
            steps += 1
        return steps

    return sorted(tree, key=lambda node: (-depth(node), node))
