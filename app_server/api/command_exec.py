"""`command/exec` and its follow-ups (`/write`, `/resize`, `/terminate`): a command the client
runs outside any thread, e.g. in an IDE's terminal panel (codex 0.169's behaviour and texts,
observed on the binary).

Thin: params are checked here, the process runs in `app_server.processes`. The command runs
under the sandbox policy given (default: the configured `sandbox_mode`), with bubblewrap as turn
commands do; an enforced policy without a working bubblewrap is refused rather than run
unsandboxed. The answer comes when the process has ended, after every `outputDelta`.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import os
from collections.abc import Callable
from pathlib import Path

from app_server.agent.tools.exec.sandbox import SandboxSpec, sandbox_argv
from app_server.api.path_params import check_path
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
    CommandExecOutputDeltaNotification,
    CommandExecParams,
    CommandExecResizeParams,
    CommandExecResizeResponse,
    CommandExecResponse,
    CommandExecTerminateParams,
    CommandExecTerminateResponse,
    CommandExecWriteParams,
    CommandExecWriteResponse,
    SandboxPolicy,
)

DEFAULT_TIMEOUT_MS = 10_000
"""A command's time limit when the client gives none (codex's `DEFAULT_EXEC_COMMAND_TIMEOUT_MS`);
`disableTimeout` lifts it."""

DEFAULT_OUTPUT_BYTES_CAP = 1024 * 1024
"""Bytes kept (or streamed) per stream when the client gives no cap: the answer holds at most
twice this much output; `disableOutputCap` lifts it."""

FAMILY: Family = "command/exec"


def merged_env(overrides: dict[str, str | None] | None) -> dict[str, str]:
    """The server's environment with the client's overrides (None unsets a variable)."""
    env = dict(os.environ)
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def decode_stdin(data_base64: str | None) -> bytes:
    """The bytes of a `deltaBase64` (-32602 with codex's wording when it is not base64; checked
    before the process is looked up, as codex does)."""
    if not data_base64:
        return b""
    try:
        return base64.b64decode(data_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidParams(f"invalid deltaBase64: {exc}") from None


async def write_stdin_of(process: RunningProcess, data: bytes, close: bool, what: str) -> None:
    """Write (and maybe close) `process`'s stdin, refused with codex's texts when it is not
    streamed or already closed; `what` names the process family ("command/exec", "process")."""
    if not process.stdin_streamed:
        raise InvalidRequest(f"stdin streaming is not enabled for this {what}")
    try:
        await process.write_stdin(data, close=close)
    except BrokenPipeError:
        raise InvalidRequest(f"stdin is already closed for this {what}") from None


def resize_pty_of(process: RunningProcess, rows: int, cols: int) -> None:
    """Resize `process`'s PTY, refused with codex's text when it cannot be."""
    try:
        process.resize(rows, cols)
    except (ValueError, OSError) as exc:
        raise InvalidRequest(f"failed to resize PTY: {exc}") from None


class CommandExecHandlers:
    """Handlers of `command/exec` and its follow-ups."""

    def __init__(
        self,
        table: ProcessTable,
        server_cwd: Path,
        default_policy: Callable[[], SandboxPolicy],
        bwrap: Callable[[], str | None],
    ) -> None:
        self._table = table
        self._server_cwd = server_cwd
        self._default_policy = default_policy
        self._bwrap = bwrap
        self._internal_ids = itertools.count(1)

    async def exec(
        self, connection: ClientConnection, params: CommandExecParams
    ) -> CommandExecResponse:
        request, key = self._request(params)
        sink = None
        if params.stream_stdout_stderr or params.tty:
            process_id = key

            def sink(stream: Stream, data: bytes, cap_reached: bool) -> None:
                connection.notify(
                    notification(
                        CommandExecOutputDeltaNotification(
                            process_id=process_id,
                            stream=stream,
                            delta_base64=base64.b64encode(data).decode("ascii"),
                            cap_reached=cap_reached,
                        )
                    )
                )

        process = RunningProcess(request, sink)
        try:
            self._table.add(connection.connection_id, FAMILY, key, process)
        except DuplicateProcessId:
            raise InvalidRequest(f'duplicate active command/exec process id: "{key}"') from None
        except TooManyProcesses:
            raise InvalidRequest("too many running processes on this connection") from None
        try:
            await process.start()
        except SpawnError as exc:
            self._table.remove(connection.connection_id, FAMILY, key, process)
            raise InvalidRequest(f"failed to spawn command: {exc.reason}") from None
        try:
            outcome = await process.wait()
        finally:
            process.kill()  # the request was cancelled (connection gone): the process goes too
            self._table.remove(connection.connection_id, FAMILY, key, process)
        return CommandExecResponse(
            exit_code=outcome.exit_code,
            stdout=outcome.stdout.decode("utf-8", "replace"),
            stderr=outcome.stderr.decode("utf-8", "replace"),
        )

    def _request(self, params: CommandExecParams) -> tuple[SpawnRequest, str]:
        """The checked spawn request and the process's key (codex's refusals, in its order)."""
        if not params.command:
            raise InvalidRequest("command must not be empty")
        streaming = bool(params.tty or params.stream_stdin or params.stream_stdout_stderr)
        if streaming and params.process_id is None:
            raise InvalidRequest(
                "command/exec tty or streaming requires a client-supplied processId"
            )
        if params.timeout_ms is not None and params.disable_timeout:
            raise InvalidParams("command/exec cannot set both timeoutMs and disableTimeout")
        if params.output_bytes_cap is not None and params.disable_output_cap:
            raise InvalidParams("command/exec cannot set both outputBytesCap and disableOutputCap")
        if params.size is not None and not params.tty:
            raise InvalidParams("command/exec size requires tty: true")
        if params.permission_profile is not None:
            if params.sandbox_policy is not None:
                raise InvalidParams(
                    "command/exec cannot set both sandboxPolicy and permissionProfile"
                )
            raise InvalidParams(
                f"Invalid params: `permissionProfile`: unknown profile "
                f"`{params.permission_profile}`; pass a sandboxPolicy instead"
            )
        if params.timeout_ms is not None and params.timeout_ms < 0:
            raise InvalidParams("Invalid params: `timeoutMs`: must not be negative")
        cwd = self._cwd(params.cwd)
        argv = self._sandboxed(list(params.command), params.sandbox_policy, cwd)
        timeout_ms = None if params.disable_timeout else (params.timeout_ms or DEFAULT_TIMEOUT_MS)
        if params.timeout_ms == 0:
            timeout_ms = 0
        cap = None if params.disable_output_cap else params.output_bytes_cap
        if cap is None and not params.disable_output_cap:
            cap = DEFAULT_OUTPUT_BYTES_CAP
        key = params.process_id or f"internal-{next(self._internal_ids)}"
        request = SpawnRequest(
            argv=argv,
            cwd=str(cwd),
            env=merged_env(params.env),
            tty=bool(params.tty),
            size=(params.size.rows, params.size.cols) if params.size is not None else None,
            stream_stdin=bool(params.tty or params.stream_stdin),
            output_cap=cap,
            timeout_s=None if timeout_ms is None else timeout_ms / 1000,
        )
        return request, key

    def _cwd(self, cwd: str | None) -> Path:
        if cwd is None:
            return self._server_cwd
        check_path("cwd", cwd)
        return Path(os.path.normpath(self._server_cwd / cwd))

    def _sandboxed(self, argv: list[str], policy: SandboxPolicy | None, cwd: Path) -> list[str]:
        spec = SandboxSpec.from_policy(policy or self._default_policy(), cwd)
        if not spec.enforced:
            return argv
        bwrap = self._bwrap()
        if bwrap is None:
            raise InvalidRequest(
                f"command/exec cannot enforce the {spec.mode} sandbox: bubblewrap is not "
                "available on this machine (pass sandboxPolicy dangerFullAccess to run "
                "the command unsandboxed)"
            )
        return sandbox_argv(spec, argv, bwrap, chdir=cwd)

    async def write(
        self, connection: ClientConnection, params: CommandExecWriteParams
    ) -> CommandExecWriteResponse:
        data = decode_stdin(params.delta_base64)
        process = self._running(connection, params.process_id)
        await write_stdin_of(process, data, bool(params.close_stdin), "command/exec")
        return CommandExecWriteResponse()

    async def resize(
        self, connection: ClientConnection, params: CommandExecResizeParams
    ) -> CommandExecResizeResponse:
        process = self._running(connection, params.process_id)
        resize_pty_of(process, params.size.rows, params.size.cols)
        return CommandExecResizeResponse()

    async def terminate(
        self, connection: ClientConnection, params: CommandExecTerminateParams
    ) -> CommandExecTerminateResponse:
        self._running(connection, params.process_id).kill()
        return CommandExecTerminateResponse()

    def _running(self, connection: ClientConnection, process_id: str) -> RunningProcess:
        process = self._table.get(connection.connection_id, FAMILY, process_id)
        if process is None:
            raise InvalidRequest(f'no active command/exec for process id "{process_id}"')
        return process
