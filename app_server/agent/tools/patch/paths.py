"""Resolve the paths a patch names and keep every write inside the writable roots.

A patch path is relative to the turn's cwd (absolute paths are allowed). Containment is checked
on the *physical* path: `os.path.realpath` resolves every symlink — in the parent directories and
as the final component — and `..` after them, exactly as the kernel will when the file is
opened. So neither `../` nor a symlinked directory nor a symlinked file can redirect a write
outside the roots, and the write itself goes to that physical path (an updated symlink keeps
pointing at its target, which receives the new content).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from msgspec import Struct

from app_server.agent.tools.patch.errors import PatchPathError


class ResolvedPath(Struct, frozen=True):
    """One path of a patch in its three forms.

    `display`: as the patch named it (the model's summary lists it so);
    `path`: absolute and lexically normalised (what clients are shown);
    `real`: symlinks resolved (where the I/O happens);
    `location`: the directory entry itself (parents resolved, a final symlink not followed —
    deleting a symlink removes the link, as codex does);
    `joined`: cwd joined with the name, unnormalised (re-resolved before writing).
    """

    display: str
    path: Path
    real: Path
    location: Path
    joined: Path


def real_roots(writable_roots: Sequence[Path]) -> tuple[Path, ...]:
    """The roots with their own symlinks resolved, so containment compares like with like."""
    return tuple(Path(os.path.realpath(root)) for root in writable_roots)


def is_inside(path: Path, roots: Sequence[Path]) -> bool:
    """True when `path` is one of `roots` or below one of them (both already resolved)."""
    return any(path == root or path.is_relative_to(root) for root in roots)


def resolve_patch_path(name: str, cwd: Path, roots: Sequence[Path]) -> ResolvedPath:
    """Resolve `name` against `cwd`; raise `PatchPathError` unless it lands inside `roots`.

    `roots` must come from `real_roots`.
    """
    if not name or "\0" in name:
        raise PatchPathError(name, f"Invalid path in patch: {name!r}")
    joined = Path(name) if os.path.isabs(name) else Path(os.path.abspath(cwd)) / name
    lexical = Path(os.path.normpath(joined))
    # Resolve the unnormalised path: `link/..` must mean the link target's parent, as in the
    # kernel, not the directory holding the link.
    real = Path(os.path.realpath(joined))
    if not is_inside(real, roots):
        where = "" if real == lexical else f" (it resolves to {real})"
        raise PatchPathError(
            name, f"Refusing to write {lexical}{where}: the path is outside the writable roots"
        )
    if joined.name in ("", ".", ".."):
        location = real
    else:
        location = Path(os.path.realpath(joined.parent)) / joined.name
    return ResolvedPath(display=name, path=lexical, real=real, location=location, joined=joined)


def still_resolves_to(resolved: ResolvedPath) -> bool:
    """True when the path still resolves where it did at planning time (no symlink swapped in)."""
    return Path(os.path.realpath(resolved.joined)) == resolved.real
