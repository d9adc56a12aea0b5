"""`config/value/write` and `config/batchWrite`: change `<data dir>/config.toml` safely.

A write either changes the file as asked or leaves it byte-identical: the edits are applied to
the parsed file (comments and layout kept, see `edits.py`), the result is checked with the same
validation the server starts with, and only then written atomically (temp file, fsync, rename).
The edited keys must hold valid values; values elsewhere in the file are not re-judged (a
broken value a person left there is reported at startup, not a reason to refuse an unrelated
edit). `expectedVersion` (a version from `config/read`) guards against a lost update: when the
file changed since, the write is refused. Writes are serialized, so two batches never interleave.

The new table becomes the server's user layer at once (`ServerConfig.replace_user_table`):
threads started afterwards use it; threads already running keep theirs.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import tomlkit
from msgspec import Struct
from tomlkit.exceptions import TOMLKitError

from app_server.config.edits import ConfigEdit, apply_edits
from app_server.config.layers import SESSION_FLAGS_ORIGIN, LayerKind
from app_server.config.loader import ServerConfig
from app_server.config.problems import ConfigWriteError, ConfigWriteErrorCode
from app_server.config.validation import validate_config
from app_server.config.versions import layer_version
from app_server.durable_files import replace_atomically
from protocol.types import (
    ConfigLayerMetadata,
    ConfigWriteResponse,
    OverriddenMetadata,
    SessionFlagsConfigLayerSource,
)

DocumentChange = Callable[[tomlkit.TOMLDocument], None]
"""Changes a parsed `config.toml` in place (runs in a worker thread, under the write lock)."""

USER_LAYER_ONLY = "Only writes to the user config are allowed"
VERSION_CONFLICT = "Configuration was modified since last read. Fetch latest version and retry."


class _Written(Struct, frozen=True):
    table: dict[str, Any]
    version: str


class ConfigWriter:
    """Applies config writes to the server's `config.toml` (see the module docstring)."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config
        self._lock = asyncio.Lock()

    async def write(
        self,
        edits: Sequence[ConfigEdit],
        *,
        expected_version: str | None = None,
        file_path: str | None = None,
    ) -> ConfigWriteResponse:
        """Apply `edits` (all or none); raises `ConfigWriteError` with codex's code."""
        path = self._config.user_file
        if file_path is not None and not _same_file(file_path, path):
            raise ConfigWriteError(ConfigWriteErrorCode.LAYER_READONLY, USER_LAYER_ONLY)
        edited = [".".join(edit.path) for edit in edits]
        written = await self._write(
            lambda document: apply_edits(document, edits), edited, expected_version
        )
        return ConfigWriteResponse(
            file_path=str(path),
            status="okOverridden" if (overridden := self._overridden(edits)) else "ok",
            version=written.version,
            overridden_metadata=overridden,
        )

    async def change(self, change: DocumentChange, edited_keys: Sequence[str]) -> None:
        """Apply a change that `ConfigEdit`s cannot say (an entry of an array of tables, as
        `skills/config/write` makes), with the same guarantees as `write`: comments kept,
        values under `edited_keys` checked, atomic, the new table in use at once."""
        await self._write(change, edited_keys, None)

    async def _write(
        self, change: DocumentChange, edited_keys: Sequence[str], expected_version: str | None
    ) -> _Written:
        async with self._lock:
            written = await asyncio.to_thread(
                _write_file, self._config.user_file, change, edited_keys, expected_version
            )
            self._config.replace_user_table(written.table)
        return written

    def _overridden(self, edits: Sequence[ConfigEdit]) -> OverriddenMetadata | None:
        """When a `-c` flag wins over a key just written: which, and the value that applies."""
        effective = self._config.effective
        for edit in edits:
            key = ".".join(edit.path)
            if effective.origin(key).kind != LayerKind.SESSION_FLAGS:
                continue
            flags = next(
                layer for layer in effective.layers if layer.origin == SESSION_FLAGS_ORIGIN
            )
            return OverriddenMetadata(
                message=(
                    f"`{key}` was written to config.toml, but a `-c` flag given when the server "
                    "started overrides it; the written value applies once the flag is removed."
                ),
                overriding_layer=ConfigLayerMetadata(
                    name=SessionFlagsConfigLayerSource(), version=layer_version(flags.table())
                ),
                effective_value=effective.raw_value(key),
            )
        return None


def _same_file(given: str, user_file: Path) -> bool:
    try:
        return Path(given).expanduser().resolve() == user_file.resolve()
    except (OSError, ValueError):  # NUL bytes, loops: not the user file
        return False


def _write_file(
    path: Path,
    change: DocumentChange,
    edited_keys: Sequence[str],
    expected_version: str | None,
) -> _Written:
    """Blocking part of a write (runs in a worker thread)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigWriteError(
            ConfigWriteErrorCode.VALIDATION, f"cannot read {path}: {exc}"
        ) from None
    try:
        current = tomllib.loads(text)
        document = tomlkit.parse(text)
    except (tomllib.TOMLDecodeError, TOMLKitError) as exc:
        raise ConfigWriteError(
            ConfigWriteErrorCode.VALIDATION, f"{path} is not valid TOML; fix it first: {exc}"
        ) from None
    version = layer_version(current)
    if expected_version is not None and expected_version != version:
        raise ConfigWriteError(ConfigWriteErrorCode.VERSION_CONFLICT, VERSION_CONFLICT)
    change(document)
    new_text = tomlkit.dumps(document)
    try:
        table = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:  # an edit tomlkit renders as invalid TOML
        raise ConfigWriteError(
            ConfigWriteErrorCode.VALIDATION, f"the edit would make config.toml invalid: {exc}"
        ) from None
    _check_values(table, edited_keys)
    if new_text != text:
        replace_atomically(path, new_text.encode("utf-8"))
    return _Written(table, layer_version(table))


def _check_values(table: dict[str, Any], edited: Sequence[str]) -> None:
    """Refuse the write when a value at or under an edited key is invalid (codex's message
    shape: `Invalid configuration: <why>` then `in \\`<key>\\``)."""
    for bad in validate_config(table).invalid:
        if any(_within(bad.key, key) for key in edited):
            raise ConfigWriteError(
                ConfigWriteErrorCode.VALIDATION,
                f"Invalid configuration: {bad.details}\nin `{bad.key}`\n",
            )


def _within(key: str, edited: str) -> bool:
    """Whether dotted `key` is `edited` or lies inside it (`models[2]` inside `models`)."""
    return key == edited or key.startswith((edited + ".", edited + "["))
