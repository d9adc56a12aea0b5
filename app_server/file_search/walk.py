"""The files and directories of a root that file search offers, as codex's walker (the `ignore`
crate) lists them: `.ignore` files are obeyed at every level and in the root's ancestors;
`.gitignore` files only inside a git repository (the root or an ancestor holds `.git`), there also
those of the root's ancestors up to the repository's top — outside a repository codex 0.169 lists
what a `.gitignore` names (observed). Hidden files are included — `.git`'s contents too, as codex
0.169 offers them — and symlinks are not followed. Not read: `.git/info/exclude` and the user's
global excludes file.

Blocking; run it in a worker thread. Paths are relative to the root, `/`-separated.
"""

from __future__ import annotations

import os

import pathspec
from msgspec import Struct

GIT_IGNORE_FILE = ".gitignore"
"""Obeyed inside a git repository only (the `ignore` crate's `require_git`)."""

IGNORE_FILE = ".ignore"
"""Obeyed everywhere (ripgrep's own ignore file)."""

ALWAYS_SKIPPED: frozenset[str] = frozenset()
"""Names never descended into nor offered (none: codex 0.169 lists `.git/hooks/…` too)."""

MAX_ENTRIES = 2_000_000
"""Most paths one root's index holds (about 200 MB of strings at worst); a larger tree is cut
off there rather than exhausting memory."""


class Entry(Struct, frozen=True):
    """One candidate: its path relative to the root and whether it is a directory."""

    path: str
    is_directory: bool


class IgnoreRules(Struct, frozen=True):
    """One directory's ignore patterns. `base`: that directory relative to the root ("" for the
    root or an ancestor of it); `prefix`: for an ancestor, the root's path below it plus "/"."""

    base: str
    prefix: str
    spec: pathspec.GitIgnoreSpec


def walk(root: str) -> list[Entry]:
    """Every file and directory under `root` that no ignore file excludes (depth first)."""
    in_repository = repository_top(root) is not None
    entries: list[Entry] = []
    # Each frame: directory (relative, "" for the root) and the ignore rules in force there.
    stack: list[tuple[str, list[IgnoreRules]]] = [("", _ancestor_rules(root))]
    while stack and len(entries) < MAX_ENTRIES:
        rel_dir, specs = stack.pop()
        absolute = os.path.join(root, rel_dir) if rel_dir else root
        local = _ignore_spec(absolute, git=in_repository)
        if local is not None:
            specs = [*specs, IgnoreRules(rel_dir, "", local)]
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


def repository_top(path: str) -> str | None:
    """The nearest directory at or above `path` holding `.git` (a directory, or a file in a
    worktree or submodule), or None outside a git repository."""
    current = os.path.abspath(path)
    while True:
        if os.path.lexists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _ancestor_rules(root: str) -> list[IgnoreRules]:
    """The rules of the root's ancestors, outermost first: their `.ignore` files, and inside a
    repository the `.gitignore` files from its top down."""
    top = repository_top(root)
    rules: list[IgnoreRules] = []
    absolute = os.path.abspath(root)
    ancestor = os.path.dirname(absolute)
    chain: list[str] = []
    while ancestor != absolute:
        chain.append(ancestor)
        absolute, ancestor = ancestor, os.path.dirname(ancestor)
    for directory in reversed(chain):
        inside = top is not None and (directory + os.sep).startswith(top.rstrip(os.sep) + os.sep)
        spec = _ignore_spec(directory, git=inside)
        if spec is not None:
            below = os.path.relpath(root, directory).replace(os.sep, "/")
            rules.append(IgnoreRules("", below + "/", spec))
    return rules


def _ignore_spec(directory: str, *, git: bool) -> pathspec.GitIgnoreSpec | None:
    lines: list[str] = []
    for name in (GIT_IGNORE_FILE, IGNORE_FILE) if git else (IGNORE_FILE,):
        try:
            with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as f:
                lines += f.read().splitlines()
        except OSError:
            continue
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


def _ignored(rel: str, is_dir: bool, specs: list[IgnoreRules]) -> bool:
    for rules in specs:
        below = rules.prefix + (rel[len(rules.base) + 1 :] if rules.base else rel)
        if rules.spec.match_file(below + "/" if is_dir else below):
            return True
    return False
