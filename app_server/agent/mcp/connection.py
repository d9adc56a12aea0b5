"""One running MCP server, on the official `mcp` SDK (stdio or streamable-HTTP client session).

The SDK's transports and `ClientSession` are async context managers built on anyio task groups,
which must be entered and left by the same task: each connection owns one task (`_serve`) that
opens the session, lists the server's tools, resources and resource templates, reports `ready`,
and then holds the session until `close()`. Calls from turns go through the session from their
own tasks. The stdio transport starts the server in its own session (process group) and, on
close, ends its stdin, waits, then kills the whole group: no orphans.

This module imports the SDK; `manager` loads it in a worker thread, never on the startup path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, Literal

import httpx2
import mcp.types as mcp_types
from mcp.client.session import ClientRequestContext, ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED
from msgspec import Struct, field

from app_server.agent.mcp.spec import McpCallError, McpServerSpec

log = logging.getLogger(__name__)

CLIENT_NAME = "codex-app-server-py"
"""The `clientInfo.name` servers see in `initialize`."""

HTTP_TIMEOUT_SECONDS = 30.0
"""Connect/read timeout of one HTTP exchange with a streamable-HTTP server (a tool call's own
limit is `tool_timeout_sec`)."""

STDERR_SINK = "/dev/null"
"""Where a stdio server's stderr goes: it must not mix with our own stdout/stderr protocol."""

CLOSE_GRACE_SECONDS = 5.0
"""How long a ready server gets to wind down (the SDK closes its stdin, waits, then kills its
process group) before its task is cancelled, which still kills the group."""

ElicitHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
"""Forwards a server's `elicitation/create` params (dumped by alias) to a client; returns the
`ElicitResult` fields (`action`, `content`)."""

Status = Literal["starting", "ready", "failed"]


class Inventory(Struct):
    """What a ready server offers, dumped by alias (the wire spelling)."""

    server_info: dict[str, Any] | None = None
    capabilities: dict[str, Any] | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)


def _dump(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(by_alias=True, exclude_none=True, mode="json")
    return dumped


def _startup_error(exc: BaseException) -> str:
    """A one-line reason for a server that did not start (the innermost cause of a group)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} (os error {exc.errno})"
    return str(exc) or type(exc).__name__


def _connection_lost(exc: BaseException) -> bool:
    """Whether a failed request means the session is gone (not an error the server sent)."""
    if isinstance(exc, MCPError):
        return exc.code == CONNECTION_CLOSED
    return True


class McpConnection:
    """One server's session (see the module docstring)."""

    def __init__(self, spec: McpServerSpec) -> None:
        self.spec = spec
        self.status: Status = "starting"
        self.error: str | None = None
        self.inventory = Inventory()
        self.settled = asyncio.Event()
        """Set once the server is ready or has failed."""
        self.broken = False
        """The session ended under a call (the process died): the next use starts it again."""
        self._session: ClientSession | None = None
        self._close = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._elicit: list[ElicitHandler] = []
        self.pid: int | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._serve(), name=f"mcp {self.spec.name}")

    async def wait_settled(self) -> None:
        """Wait until ready or failed; past `startup_timeout_sec` the start fails (codex's
        message) and the half-started server is stopped."""
        if self.settled.is_set():
            return
        try:
            await asyncio.wait_for(self.settled.wait(), self.spec.startup_timeout_sec)
        except TimeoutError:
            if not self.settled.is_set():
                seconds = f"{self.spec.startup_timeout_sec:g}"
                self._fail(
                    f"MCP client for `{self.spec.name}` timed out after {seconds} seconds. Add or "
                    "adjust `startup_timeout_sec` in your config.toml:\n"
                    f"[mcp_servers.{self.spec.name}]\nstartup_timeout_sec = XX"
                )
                await self.close()

    async def close(self) -> None:
        """Stop the server (its whole process group) and wait for that."""
        self._close.set()
        task = self._task
        if task is None or task.done():
            return
        if self.status != "ready":  # still starting: nothing to wind down politely
            task.cancel()
        else:
            done, _ = await asyncio.wait({task}, timeout=CLOSE_GRACE_SECONDS)
            if not done:
                task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    def _fail(self, reason: str) -> None:
        self.status, self.error = "failed", reason
        self.settled.set()

    async def _serve(self) -> None:
        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(await self._transport(stack))
                session = ClientSession(
                    read,
                    write,
                    elicitation_callback=self._on_elicit,
                    client_info=mcp_types.Implementation(name=CLIENT_NAME, version="0.1.0"),
                )
                await stack.enter_async_context(session)
                init = await session.initialize()
                inventory = Inventory(
                    server_info=_dump(init.server_info),
                    capabilities=_dump(init.capabilities),
                )
                inventory.tools = [_dump(tool) for tool in (await session.list_tools()).tools]
                if init.capabilities.resources is not None:
                    listed = await session.list_resources()
                    inventory.resources = [_dump(r) for r in listed.resources]
                    templates = await session.list_resource_templates()
                    inventory.templates = [_dump(t) for t in templates.resource_templates]
                self.inventory, self._session = inventory, session
                if self.status == "starting":
                    self.status = "ready"
                    self.settled.set()
                await self._close.wait()
        except Exception as exc:  # a server that fails is reported and skipped
            reason = f"MCP client for `{self.spec.name}` failed to start: {_startup_error(exc)}"
            if self.status == "starting":
                self._fail(reason)
            else:
                log.info("MCP server %s ended: %s", self.spec.name, _startup_error(exc))
        finally:
            self._session = None
            # A server that ran and ended is started again on next use; one that never
            # started stays failed (until a reload), as codex does not retry it either.
            self.broken = self.status == "ready"

    async def _transport(self, stack: AsyncExitStack) -> Any:
        """The SDK transport for the spec (its resources are closed with `stack`)."""
        spec = self.spec
        if spec.command is not None:
            errlog = stack.enter_context(open(STDERR_SINK, "w"))  # noqa: ASYNC230, SIM115
            params = StdioServerParameters(
                command=spec.command, args=list(spec.args), env=dict(spec.env), cwd=spec.cwd
            )
            return stdio_client(params, errlog=errlog)
        client = httpx2.AsyncClient(headers=dict(spec.headers), timeout=HTTP_TIMEOUT_SECONDS)
        await stack.enter_async_context(client)
        return streamable_http_client(spec.url or "", http_client=client)

    # -- calls -----------------------------------------------------------------------------------
    def _require_session(self) -> ClientSession:
        if self._session is None:
            raise McpCallError(f"MCP server `{self.spec.name}` is not running")
        return self._session

    async def call_tool(
        self,
        tool: str,
        arguments: dict[str, Any] | None,
        elicit: ElicitHandler | None = None,
        limit_seconds: float | None = None,
    ) -> dict[str, Any]:
        """Call a tool within `limit_seconds` (the spec's `tool_timeout_sec` by default); the
        `CallToolResult` dumped by alias."""
        session = self._require_session()
        if elicit is not None:
            self._elicit.append(elicit)
        timeout = self.spec.tool_timeout_sec if limit_seconds is None else limit_seconds
        started = time.monotonic()
        try:
            result = await asyncio.wait_for(session.call_tool(tool, arguments), timeout)
        except TimeoutError:
            millis = int(timeout * 1000)
            raise McpCallError(
                f"tool call error: tool call failed for `{self.spec.name}/{tool}`\n\n"
                f"Caused by:\n    timed out awaiting tools/call after {millis}ms"
            ) from None
        except Exception as exc:
            if _connection_lost(exc):  # the process died: stop this session, restart on next use
                self.broken = True
                self._close.set()
            raise McpCallError(
                f"tool call error: tool call failed for `{self.spec.name}/{tool}`\n\n"
                f"Caused by:\n    {_startup_error(exc)}"
            ) from exc
        finally:
            if elicit is not None:
                self._elicit.remove(elicit)
            log.debug("mcp %s/%s took %.4fs", self.spec.name, tool, time.monotonic() - started)
        return _dump(result)

    async def read_resource(self, uri: str) -> list[dict[str, Any]]:
        session = self._require_session()
        try:
            result = await asyncio.wait_for(session.read_resource(uri), self.spec.tool_timeout_sec)
        except Exception as exc:
            raise McpCallError(
                f"resources/read failed for `{self.spec.name}`: {_startup_error(exc)}"
            ) from exc
        return [_dump(content) for content in result.contents]

    async def _on_elicit(
        self, context: ClientRequestContext, params: mcp_types.ElicitRequestParams
    ) -> mcp_types.ElicitResult | mcp_types.ErrorData:
        """A server asks its user: the latest running call's client answers (else `cancel`)."""
        if not self._elicit:
            return mcp_types.ElicitResult(action="cancel")
        answer = await self._elicit[-1](_dump(params))
        return mcp_types.ElicitResult.model_validate(answer)
