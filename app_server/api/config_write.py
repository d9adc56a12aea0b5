"""`config/value/write` and `config/batchWrite`: edit `<data dir>/config.toml` in place.

Thin: the wire edits become `ConfigEdit`s and `ConfigWriter` does the rest (comments kept, value
checked, atomic write, all-or-nothing, `expectedVersion` conflicts, the new values used by
threads started afterwards). A refusal is -32600 with `data.config_write_error_code`, as codex.

The writer and the edits (with `tomlkit`, ~7 ms to import) are loaded on the first write, not
at startup: most sessions never write the config.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app_server.client_connection import ClientConnection
from protocol.types import ConfigBatchWriteParams, ConfigValueWriteParams, ConfigWriteResponse

if TYPE_CHECKING:
    from app_server.config.writer import ConfigWriter


class ConfigWriteHandlers:
    """Handlers of the two config write methods."""

    def __init__(self, make_writer: Callable[[], ConfigWriter]) -> None:
        """`make_writer` is called once, on the first write."""
        self._make_writer = make_writer
        self._made: ConfigWriter | None = None

    @property
    def _writer(self) -> ConfigWriter:
        if self._made is None:
            self._made = self._make_writer()
        return self._made

    async def value_write(
        self, connection: ClientConnection, params: ConfigValueWriteParams
    ) -> ConfigWriteResponse:
        from app_server.config.edits import ConfigEdit

        edit = ConfigEdit.parse(
            params.key_path, params.value, upsert=params.merge_strategy == "upsert"
        )
        return await self._writer.write(
            [edit], expected_version=params.expected_version, file_path=params.file_path
        )

    async def batch_write(
        self, connection: ClientConnection, params: ConfigBatchWriteParams
    ) -> ConfigWriteResponse:
        from app_server.config.edits import ConfigEdit

        edits = [
            ConfigEdit.parse(edit.key_path, edit.value, upsert=edit.merge_strategy == "upsert")
            for edit in params.edits
        ]
        return await self._writer.write(
            edits, expected_version=params.expected_version, file_path=params.file_path
        )
