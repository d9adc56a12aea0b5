"""What can be wrong with configuration, and how it is said: one shape for every key.

A broken config never stops the server (README): an unreadable `config.toml` is replaced by the
defaults, an invalid value by its key's default, and each becomes a `ConfigProblem` that is
logged and sent to every client as a `configWarning` after `initialize`. Only a malformed `-c`
argument is fatal (`ConfigError`), because the person who typed it is there to fix it.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

from msgspec import Struct

from app_server.errors import InvalidRequest

CONFIG_FILE_NAME = "config.toml"

MAX_VALUE_REPR_CHARS = 200
"""A bad value is quoted in warnings up to this length: enough to recognize it, while a huge
table pasted under the wrong key does not flood every client."""


class ConfigError(Exception):
    """A config layer could not be read; the message says which and why."""


class ConfigWriteErrorCode(enum.StrEnum):
    """Codex's `config_write_error_code` values (the `data` of a refused config write)."""

    LAYER_READONLY = "configLayerReadonly"
    VERSION_CONFLICT = "configVersionConflict"
    VALIDATION = "configValidationError"


class ConfigWriteError(InvalidRequest):
    """A config write was refused and the file left untouched: -32600 with
    `data.config_write_error_code`, as codex 0.169 answers."""

    def __init__(self, code: ConfigWriteErrorCode, message: str) -> None:
        super().__init__(message)
        self.write_code = code
        self.data = {"config_write_error_code": code.value}


class ConfigProblem(Struct, frozen=True):
    """A problem reported to clients as a `configWarning` after `initialize`."""

    summary: str
    details: str | None = None
    path: str | None = None
    """The file the bad value came from (None for `-c` and thread overrides)."""
    key: str | None = None
    """The dotted key whose value was ignored (None when the whole file was)."""


class InvalidValue(Struct, frozen=True):
    """A value that does not fit its key: dropped, and its key's default used instead."""

    key: str
    """Dotted (`agents.max_threads`); table entries and list elements included
    (`model_providers.local.wire_api`, `models[2]`)."""
    expected: str
    value: Any
    instead: str
    """What applies now, as the warning says it: `using 7`, `using the defaults`, `ignored`."""

    @property
    def shown_value(self) -> str:
        text = repr(self.value)
        if len(text) > MAX_VALUE_REPR_CHARS:
            return text[:MAX_VALUE_REPR_CHARS] + "…"
        return text

    @property
    def details(self) -> str:
        return f"expected {self.expected}, got {self.shown_value}"

    def problem(self, path: Path | None) -> ConfigProblem:
        return ConfigProblem(
            summary=f"Invalid `{self.key}` in config; {self.instead}",
            details=self.details,
            path=str(path) if path is not None else None,
            key=self.key,
        )


def unreadable_file_problem(path: Path, reason: str) -> ConfigProblem:
    """The whole `config.toml` was ignored (not TOML, not UTF-8, unreadable)."""
    return ConfigProblem(f"Invalid {CONFIG_FILE_NAME}; using defaults", reason, str(path))
