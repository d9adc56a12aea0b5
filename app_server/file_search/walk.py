"""The files and directories of a root that file search offers, as codex's walker (the `ignore`
crate) lists them: `.gitignore` and `.ignore` files are obeyed at every level (also outside a
git repository), hidden files are included — `.git`'s contents too, as codex 0.169 offers them —
and symlinks are not followed.

Blocking; run it in a worker thread. Paths are relative to the root, `/`-separated.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pathspec

IGNORE_FILES = (".gitignore", ".ignore")
"""Per-directory ignore files read during the walk (as ripgrep / codex)."""

ALWAYS_SKIPPED: frozenset[str] = frozenset()
"""Names never descended into nor offered (none: codex 0.169 lists `.git/hooks/…` too)."""

MAX_ENTRIES = 2_000_000
"""Most paths one root's index holds (about 200 MB of strings at worst); a larger tree is cut
off there rather than exhausting memory."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One candidate: its path relative to the root and whether it is a directory."""

    path: str
    is_directory: bool


def walk(root: str) -> list[Entry]:
    """Every file and directory under `root` that no ignore file excludes (depth first)."""
    entries: list[Entry] = []
    # Each frame: directory (relative, "" for the root) and the ignore specs in force there,
    # each with the directory it came from.
    stack: list[tuple[str, list[tuple[str, pathspec.GitIgnoreSpec]]]] = [("", [])]
    while stack and len(entries) < MAX_ENTRIES:
        rel_dir, specs = stack.pop()
        absolute = os.path.join(root, rel_dir) if rel_dir else root
        local = _ignore_spec(absolute)
        if local is not None:
            specs = [*specs, (rel_dir, local)]
        try:
            with os.scandir(absolute) as listing:
                children = sorted(listing, key=lambda e: e.name)
        except OSError:
            continue
        for child in children:
            if child.name in ALWAYS_SKIPPED or "\n" in child.name:
                continue  # the index separates paths with newlines
            try:
                is_dir = child.is_dir(follow_symlinks=False)
            except OSError:
                continue
            rel = f"{rel_dir}/{child.name}" if rel_dir else child.name
            if _ignored(rel, is_dir, specs):
                continue
            entries.append(Entry(rel, is_dir))
            if is_dir:
                stack.append((rel, specs))
    return entries


def _ignore_spec(directory: str) -> pathspec.GitIgnoreSpec | None:
    lines: list[str] = []
    for name in IGNORE_FILES:
        try:
            with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as f:
                lines += f.read().splitlines()
        except OSError:
            continue
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


def _ignored(rel: str, is_dir: bool, specs: list[tuple[str, pathspec.GitIgnoreSpec]]) -> bool:
    for base, spec in specs:
        below = rel[len(base) + 1 :] if base else rel
        if spec.match_file(below + "/" if is_dir else below):
            return True
    return False
