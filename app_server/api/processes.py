"""`process/spawn`, `process/writeStdin`, `process/resizePty`, `process/kill` (experimental): a
process started on the host without a sandbox, reported by `process/outputDelta` and
`process/exited` (codex 0.169's behaviour and texts, observed on the binary).

`process/spawn` answers once the process has started; its end is the `process/exited`
notification, after every `process/outputDelta`. `timeoutMs` / `outputBytesCap` set to null
lift the limit; omitted, the server defaults apply.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Coroutine
from typing import Any

from app_server.api.command_exec import (
    DEFAULT_OUTPUT_BYTES_CAP,
    DEFAULT_TIMEOUT_MS,
    decode_stdin,
    merged_env,
    resize_pty_of,
    write_stdin_of,
)
from app_server.api.path_params import absolute_path
from app_server.client_connection import ClientConnection
from app_server.errors import InvalidParams, InvalidRequest
from app_server.notification import notification
from app_server.processes.running import RunningProcess, SpawnError, SpawnRequest, Stream
from app_server.processes.table import (
    DuplicateProcessId,
    Family,
    ProcessTable,
    TooManyProcesses,
)
from protocol.types import (
    ProcessExitedNotification,
    ProcessKillParams,
    ProcessKillResponse,
    ProcessOutputDeltaNotification,
    ProcessResizePtyParams,
    ProcessResizePtyResponse,
    ProcessSpawnParams,
    ProcessSpawnResponse,
    ProcessWriteStdinParams,
    ProcessWriteStdinResponse,
)

FAMILY: Family = "process"


class ProcessHandlers:
    """Handlers of the `process/*` methods."""

    def __init__(self, table: ProcessTable) -> None:
        self._table = table

    async def spawn(
        self, connection: ClientConnection, params: ProcessSpawnParams
    ) -> ProcessSpawnResponse:
        if not params.command:
            raise InvalidRequest("command must not be empty")
        cwd = absolute_path("cwd", params.cwd)
        if params.size is not None and not params.tty:
            raise InvalidParams("process/spawn size requires tty: true")
        given = params.model_fields_set
        timeout_ms = params.timeout_ms if "timeout_ms" in given else DEFAULT_TIMEOUT_MS
        if timeout_ms is not None and timeout_ms < 0:
            raise InvalidParams("Invalid params: `timeoutMs`: must not be negative")
        cap = params.output_bytes_cap if "output_bytes_cap" in given else DEFAULT_OUTPUT_BYTES_CAP
        handle = params.process_handle
        streaming = bool(params.tty or params.stream_stdout_stderr)

        def sink(stream: Stream, data: bytes, cap_reached: bool) -> None:
            connection.notify(
                notification(
                    ProcessOutputDeltaNotification(
                        process_handle=handle,
                        stream=stream,
                        delta_base64=base64.b64encode(data).decode("ascii"),
                        cap_reached=cap_reached,
                    )
                )
            )

        request = SpawnRequest(
            argv=list(params.command),
            cwd=cwd,
            env=merged_env(params.env),
            tty=bool(params.tty),
            size=(params.size.rows, params.size.cols) if params.size is not None else None,
            stream_stdin=bool(params.tty or params.stream_stdin),
            output_cap=cap,
            timeout_s=None if timeout_ms is None else timeout_ms / 1000,
        )
        process = RunningProcess(request, sink if streaming else None)
        try:
            self._table.add(connection.connection_id, FAMILY, handle, process)
        except DuplicateProcessId:
            raise InvalidRequest(f'duplicate active process handle: "{handle}"') from None
        except TooManyProcesses:
            raise InvalidRequest("too many running processes on this connection") from None
        try:
            await process.start()
        except SpawnError as exc:
            self._table.remove(connection.connection_id, FAMILY, handle, process)
            raise InvalidRequest(f"failed to spawn process: {exc.reason}") from None
        connection_id = connection.connection_id

        async def report() -> None:
            outcome = await process.wait()
            self._table.remove(connection_id, FAMILY, handle, process)
            connection.notify(
                notification(
                    ProcessExitedNotification(
                        process_handle=handle,
                        exit_code=outcome.exit_code,
                        output_drain_timed_out=outcome.output_drain_timed_out,
                        stdout=outcome.stdout.decode("utf-8", "replace"),
                        stdout_cap_reached=outcome.stdout_cap_reached,
                        stderr=outcome.stderr.decode("utf-8", "replace"),
                        stderr_cap_reached=outcome.stderr_cap_reached,
                    )
                )
            )

        _keep(report())
        return ProcessSpawnResponse()

    async def write_stdin(
        self, connection: ClientConnection, params: ProcessWriteStdinParams
    ) -> ProcessWriteStdinResponse:
        data = decode_stdin(params.delta_base64)
        process = self._running(connection, params.process_handle)
        await write_stdin_of(process, data, bool(params.close_stdin), "process")
        return ProcessWriteStdinResponse()

    async def resize_pty(
        self, connection: ClientConnection, params: ProcessResizePtyParams
    ) -> ProcessResizePtyResponse:
        process = self._running(connection, params.process_handle)
        resize_pty_of(process, params.size.rows, params.size.cols)
        return ProcessResizePtyResponse()

    async def kill(
        self, connection: ClientConnection, params: ProcessKillParams
    ) -> ProcessKillResponse:
        self._running(connection, params.process_handle).kill()
        return ProcessKillResponse()

    def _running(self, connection: ClientConnection, handle: str) -> RunningProcess:
        process = self._table.get(connection.connection_id, FAMILY, handle)
        if process is None:
            raise InvalidRequest(f'no active process for process handle "{handle}"')
        return process


_reporters: set[asyncio.Task[None]] = set()


def _keep(coro: Coroutine[Any, Any, None]) -> None:
    """Run `coro` as a task kept alive until it ends."""
    task = asyncio.create_task(coro)
    _reporters.add(task)
    task.add_done_callback(_reporters.discard)
