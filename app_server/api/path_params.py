"""Checks of path-like params, done where a handler first reads them (issue 14).

A client can send any string as a `cwd` or a `path`; the operating system refuses some before
looking at the disk: a NUL character (`ValueError: embedded null byte` in Python), a path longer
than `PATH_MAX`, a component longer than `NAME_MAX` (`OSError` ENAMETOOLONG); and `pathlib`
cannot expand `~user` for a user that does not exist (RuntimeError). Checking them here turns
what would be an internal error, or a thread that can never run a command, into -32602 naming
the field, e.g. "Invalid params: `path`: file name is longer than 255 bytes".
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from app_server.errors import InvalidParams, InvalidRequest

MAX_PATH_BYTES = 4095
"""Longest path a system call accepts on Linux (`PATH_MAX` is 4096 bytes with the terminating
NUL). A longer one cannot be opened, stat'ed or used as a working directory."""

MAX_FILE_NAME_BYTES = 255
"""Longest path component (`NAME_MAX`) on Linux and macOS file systems."""


def check_path(field: str, value: str) -> str:
    """`value` unchanged if a file could have that path; else `InvalidParams` naming `field`."""
    if "\x00" in value:
        raise InvalidParams(f"Invalid params: `{field}`: contains a NUL character")
    if len(value) > MAX_PATH_BYTES or len(value.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise InvalidParams(f"Invalid params: `{field}`: longer than {MAX_PATH_BYTES} bytes")
    for name in value.split("/"):
        if len(name.encode("utf-8", "surrogatepass")) > MAX_FILE_NAME_BYTES:
            raise InvalidParams(
                f"Invalid params: `{field}`: file name is longer than {MAX_FILE_NAME_BYTES} bytes"
            )
    return value


RELATIVE_PATH = "Invalid request: AbsolutePathBuf deserialized without a base path"
"""codex 0.169's answer (-32600) to a relative path where its schema says `AbsolutePathBuf`
(`skills/config/write.path`, `plugin/installed.cwds`, …)."""


def check_absolute_path(field: str, value: str) -> str:
    """`check_path`, and refused as codex refuses it when `value` is not absolute."""
    check_path(field, value)
    if not os.path.isabs(value):
        raise InvalidRequest(RELATIVE_PATH)
    return value


def check_absolute_paths(field: str, values: Sequence[str]) -> None:
    """`check_absolute_path` for each item of a list field."""
    for index, value in enumerate(values):
        check_absolute_path(f"{field}[{index}]", value)


def check_home_path(field: str, value: str) -> str:
    """`check_path` for a path whose leading `~` / `~user` is expanded (working directories,
    `thread/resume.path`): the user must exist, else `pathlib` raises RuntimeError."""
    check_path(field, value)
    if value.startswith("~") and os.path.expanduser(value).startswith("~"):
        user = value.split("/", 1)[0]
        raise InvalidParams(f"Invalid params: `{field}`: `{user}` names no user's home directory")
    return value


def check_optional_home_path(field: str, value: str | None) -> None:
    """`check_home_path` for a field that may be absent."""
    if value is not None:
        check_home_path(field, value)


def check_paths(field: str, values: Sequence[str]) -> None:
    """`check_path` for each item of a list field, named `field[i]`."""
    for index, value in enumerate(values):
        check_path(f"{field}[{index}]", value)


def check_home_paths(field: str, values: Sequence[str]) -> None:
    """`check_home_path` for each item of a list field, named `field[i]`."""
    for index, value in enumerate(values):
        check_home_path(f"{field}[{index}]", value)


def absolute_path(field: str, value: str) -> str:
    """`value` normalized lexically (`a/../b` → `b`, no trailing `/`, symlinks untouched) if it
    is absolute and a file could have it; else `InvalidParams` naming `field`. codex 0.169 reads
    these fields as `AbsolutePathBuf`, which refuses a relative path with -32600 ("AbsolutePathBuf
    deserialized without a base path") and normalizes the same way."""
    check_path(field, value)
    if not os.path.isabs(value):
        raise InvalidParams(f"Invalid params: `{field}`: must be an absolute path, got `{value}`")
    return os.path.normpath(value)
