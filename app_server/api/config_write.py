"""`config/value/write` and `config/batchWrite`: edit `<data dir>/config.toml` in place.

Thin: the wire edits become `ConfigEdit`s and `ConfigWriter` does the rest (comments kept, value
checked, atomic write, all-or-nothing, `expectedVersion` conflicts, the new values used by
threads started afterwards). A refusal is -32600 with `data.config_write_error_code`, as codex.
"""

from __future__ import annotations

from app_server.client_connection import ClientConnection
from app_server.config.edits import ConfigEdit
from app_server.config.writer import ConfigWriter
from protocol.types import ConfigBatchWriteParams, ConfigValueWriteParams, ConfigWriteResponse


class ConfigWriteHandlers:
    """Handlers of the two config write methods."""

    def __init__(self, writer: ConfigWriter) -> None:
        self._writer = writer

    async def value_write(
        self, connection: ClientConnection, params: ConfigValueWriteParams
    ) -> ConfigWriteResponse:
        edit = ConfigEdit.parse(
            params.key_path, params.value, upsert=params.merge_strategy == "upsert"
        )
        return await self._writer.write(
            [edit], expected_version=params.expected_version, file_path=params.file_path
        )

    async def batch_write(
        self, connection: ClientConnection, params: ConfigBatchWriteParams
    ) -> ConfigWriteResponse:
        edits = [
            ConfigEdit.parse(edit.key_path, edit.value, upsert=edit.merge_strategy == "upsert")
            for edit in params.edits
        ]
        return await self._writer.write(
            edits, expected_version=params.expected_version, file_path=params.file_path
        )
