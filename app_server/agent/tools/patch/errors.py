"""Errors of the patch machinery, one class per thing a caller reacts to differently.

A parse error means the model wrote a malformed patch; an apply error means the patch does not
fit the files on disk (or the disk refused a write); a path error means the patch names a file
outside the writable roots, which a caller may turn into an approval request instead of a
failure. All derive from `PatchError`, so "any reason the patch did not apply" is one `except`.
"""

from __future__ import annotations

from pathlib import Path


class PatchError(Exception):
    """Base class: the patch was not applied; `str(error)` is the text for the model."""


class PatchParseError(PatchError):
    """The patch text is malformed; the message mirrors codex (`invalid patch: …`)."""


class PatchApplyError(PatchError):
    """The patch is well formed but does not apply (missing file, unmatched lines, I/O error)."""


class PatchPathError(PatchError):
    """A path of the patch resolves outside every writable root (`..`, absolute, symlink)."""

    def __init__(self, path: str | Path, message: str) -> None:
        super().__init__(message)
        self.path = str(path)
