"""Plan a parsed patch against the files on disk, then apply the plan all-or-nothing.

`plan_patch` reads the files (blocking I/O: call it from a worker thread) and computes every
resulting content without writing, so a caller can show the changes, ask for approval, and only
then call `apply_plan`. Hunks act in order, each seeing the effect of the previous ones (as in
codex, which writes after every hunk): an `Add File` followed by an `Update File` of the same
path updates the added content.

Semantics follow codex 0.169: `Add File` overwrites an existing file (refused for a directory),
`Update File`/`Delete File` need an existing regular file, `Move to` writes the destination
(overwriting it) and removes the source. Beyond codex: the whole patch applies or nothing does,
paths must stay inside the writable roots, updated files keep their mode, and a moved file keeps
the source's mode.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from msgspec import Struct

from app_server.agent.tools.patch.content import apply_chunks
from app_server.agent.tools.patch.errors import PatchApplyError, PatchPathError
from app_server.agent.tools.patch.parser import AddFile, DeleteFile, Patch, UpdateFile
from app_server.agent.tools.patch.paths import (
    ResolvedPath,
    real_roots,
    resolve_patch_path,
    still_resolves_to,
)
from app_server.agent.tools.patch.transaction import FileWrite, commit_writes, read_regular_file

ChangeKind = Literal["add", "delete", "update"]

MODE_BITS = 0o7777
"""Permission bits (with setuid/setgid/sticky) carried over to a rewritten file."""
NOT_FOUND = "No such file or directory"
IS_A_DIRECTORY = "Is a directory"
NOT_UTF8 = "stream did not contain valid UTF-8"


class PlannedChange(Struct, frozen=True):
    """What one hunk does, in patch order.

    `old_content`: the file's text before this hunk (None: absent); `new_content`: its text
    after (None for a delete; for a move, the destination's text). `overwritten_move_content`:
    what a move destination held before (None: absent).
    """

    kind: ChangeKind
    path: ResolvedPath
    move_to: ResolvedPath | None
    old_content: str | None
    new_content: str | None
    overwritten_move_content: str | None = None


class PatchPlan(Struct, frozen=True):
    """A patch checked against the disk: per-hunk changes and the net write per file."""

    cwd: Path
    changes: tuple[PlannedChange, ...]
    writes: tuple[FileWrite, ...]


class AppliedPatch(Struct, frozen=True):
    """A plan that is now on disk."""

    plan: PatchPlan

    @property
    def cwd(self) -> Path:
        return self.plan.cwd

    @property
    def changes(self) -> tuple[PlannedChange, ...]:
        return self.plan.changes


class _Entry(Struct):
    """One physical file as the patch sees it: what is on disk, and its text so far."""

    shown: Path
    original: bytes | None
    original_mode: int | None
    owner: tuple[int, int] | None
    is_dir: bool
    valid_utf8: bool
    text: str | None
    mode: int | None


class _VirtualFiles:
    """Files read on first touch; later hunks see the text earlier hunks produced."""

    def __init__(self) -> None:
        self.entries: dict[Path, _Entry] = {}

    def get(self, location: Path, shown: Path) -> _Entry:
        entry = self.entries.get(location)
        if entry is None:
            entry = self.entries[location] = self._load(location, shown)
        return entry

    @staticmethod
    def _load(location: Path, shown: Path) -> _Entry:
        try:
            found = read_regular_file(location)
        except IsADirectoryError:
            return _Entry(shown, None, None, None, True, True, None, None)
        except OSError as error:
            raise PatchApplyError(f"Failed to read {shown}: {error.strerror or error}") from error
        if found is None:
            return _Entry(shown, None, None, None, False, True, None, None)
        data, info = found
        try:
            text, valid = data.decode("utf-8"), True
        except UnicodeDecodeError:
            text, valid = data.decode("utf-8", errors="replace"), False
        mode = info.st_mode & MODE_BITS
        owner = (info.st_uid, info.st_gid)
        return _Entry(shown, data, mode, owner, False, valid, text, mode)

    def writes(self) -> tuple[FileWrite, ...]:
        """The net change per file; files that end as they started are left alone."""
        writes: list[FileWrite] = []
        for location, entry in self.entries.items():
            if entry.is_dir:
                continue
            content = None if entry.text is None else entry.text.encode("utf-8")
            if content == entry.original and entry.mode == entry.original_mode:
                continue
            mode = entry.mode if content is not None else None
            writes.append(
                FileWrite(location, entry.shown, entry.original, content, mode, entry.owner)
            )
        return tuple(writes)


def plan_patch(patch: Patch, cwd: Path, writable_roots: Sequence[Path]) -> PatchPlan:
    """Check `patch` against the disk and compute every new content, writing nothing.

    Raises `PatchPathError` for a path outside `writable_roots`, `PatchApplyError` when a hunk
    does not apply (codex's messages, e.g. `Failed to find expected lines in <path>:`).
    """
    if not patch.hunks:
        raise PatchApplyError("No files were modified.")
    cwd = Path(os.path.abspath(cwd))
    roots = real_roots(writable_roots)
    files = _VirtualFiles()
    changes: list[PlannedChange] = []
    for hunk in patch.hunks:
        if isinstance(hunk, AddFile):
            changes.append(_plan_add(hunk, resolve_patch_path(hunk.path, cwd, roots), files))
        elif isinstance(hunk, DeleteFile):
            changes.append(_plan_delete(resolve_patch_path(hunk.path, cwd, roots), files))
        else:
            changes.append(_plan_update(hunk, cwd, roots, files))
    return PatchPlan(cwd=cwd, changes=tuple(changes), writes=files.writes())


def _plan_add(hunk: AddFile, target: ResolvedPath, files: _VirtualFiles) -> PlannedChange:
    entry = files.get(target.real, target.path)
    if entry.is_dir:
        raise PatchApplyError(f"Failed to write file {target.path}: {IS_A_DIRECTORY}")
    old = entry.text
    entry.text = hunk.content
    return PlannedChange("add", target, None, old, hunk.content)


def _plan_delete(target: ResolvedPath, files: _VirtualFiles) -> PlannedChange:
    # Deleting a symlink removes the link itself, not the file it points to.
    location = target.location if os.path.islink(target.location) else target.real
    entry = files.get(location, target.path)
    if entry.is_dir:
        raise PatchApplyError(f"Failed to delete file {target.path}: {IS_A_DIRECTORY}")
    if entry.text is None:
        raise PatchApplyError(f"Failed to delete file {target.path}: {NOT_FOUND}")
    old = entry.text
    entry.text = None
    entry.mode = None
    return PlannedChange("delete", target, None, old, None)


def _plan_update(
    hunk: UpdateFile, cwd: Path, roots: Sequence[Path], files: _VirtualFiles
) -> PlannedChange:
    source = resolve_patch_path(hunk.path, cwd, roots)
    destination = None if hunk.move_to is None else resolve_patch_path(hunk.move_to, cwd, roots)
    entry = files.get(source.real, source.path)
    failure = f"Failed to read file to update {source.path}"
    if entry.is_dir:
        raise PatchApplyError(f"{failure}: {IS_A_DIRECTORY}")
    if entry.text is None:
        raise PatchApplyError(f"{failure}: {NOT_FOUND}")
    if not entry.valid_utf8:
        raise PatchApplyError(f"{failure}: {NOT_UTF8}")
    old = entry.text
    new = apply_chunks(old, hunk.chunks, str(source.path))
    if destination is None or destination.real == source.real:
        # A move onto the same file (an alias) is an in-place update, not a delete.
        entry.text = new
        return PlannedChange("update", source, destination, old, new)
    target = files.get(destination.real, destination.path)
    if target.is_dir:
        raise PatchApplyError(f"Failed to write file {destination.path}: {IS_A_DIRECTORY}")
    overwritten = target.text
    target.text = new
    target.mode = entry.mode if entry.mode is not None else target.mode
    entry.text = None
    entry.mode = None
    return PlannedChange("update", source, destination, old, new, overwritten)


def apply_plan(plan: PatchPlan) -> AppliedPatch:
    """Write the plan all-or-nothing (blocking I/O: call it from a worker thread).

    Refuses (writing nothing) when a path now resolves elsewhere than when planned or a file
    changed since; on an I/O failure everything already written is rolled back.
    """
    for change in plan.changes:
        for resolved in (change.path, change.move_to):
            if resolved is not None and not still_resolves_to(resolved):
                raise PatchPathError(
                    resolved.display,
                    f"{resolved.path} now resolves elsewhere than when the patch was checked",
                )
    commit_writes(plan.writes)
    return AppliedPatch(plan)


def plan_and_apply(patch: Patch, cwd: Path, writable_roots: Sequence[Path]) -> AppliedPatch:
    """Plan and apply in one step, for callers that need no approval in between."""
    return apply_plan(plan_patch(patch, cwd, writable_roots))
