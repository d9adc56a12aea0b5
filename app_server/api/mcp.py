"""MCP methods: `mcpServerStatus/list`, `mcpServer/tool/call`, `mcpServer/resource/read` and
`config/mcpServer/reload`.

Which servers a request means: those of the thread named by `threadId` (loaded), else those of
the server's `config.toml`. Each answer waits for the servers it names to settle (ready or
failed), as codex does; a direct `mcpServer/tool/call` asks no approval (the client is the user).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from app_server.agent.mcp.manager import McpManager
from app_server.agent.mcp.spec import McpCallError, McpServerSpec
from app_server.api.reply import Reply
from app_server.client_connection import ClientConnection
from app_server.config.keys import McpServerToml
from app_server.errors import InternalError, InvalidParams
from app_server.threads.manager import ThreadManager, thread_id_param
from protocol.types import (
    ListMcpServerStatusParams,
    ListMcpServerStatusResponse,
    McpAuthStatus,
    McpResourceReadParams,
    McpResourceReadResponse,
    McpServerInfo,
    McpServerRefreshResponse,
    McpServerStatus,
    McpServerToolCallParams,
    McpServerToolCallResponse,
    Resource,
    ResourceContent0,
    ResourceContent1,
    ResourceTemplate,
    Tool,
)

if TYPE_CHECKING:  # the SDK-backed module is loaded in the background, not at import
    from app_server.agent.mcp.connection import McpConnection


def _http_origin(url: str | None) -> str | None:
    if url is None:
        return None
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}"


def _status(spec: McpServerSpec, conn: McpConnection, tools_only: bool) -> McpServerStatus:
    """One server's entry: its inventory when ready, `toolsError` when it failed."""
    inventory = conn.inventory
    ready = conn.status == "ready"
    bearer = any(k == "Authorization" for k, _ in spec.headers)
    auth: McpAuthStatus = "bearerToken" if bearer else "unsupported"
    tools = {
        str(tool["name"]): Tool.model_validate(tool)
        for tool in inventory.tools
        if spec.offers(str(tool["name"]))
    }
    return McpServerStatus(
        name=spec.name,
        http_origin=_http_origin(spec.url),
        server_info=McpServerInfo.model_validate(inventory.server_info)
        if ready and inventory.server_info
        else None,
        server_capabilities=inventory.capabilities if ready else None,
        tools=tools if ready else {},
        tools_error=None if ready else _reason(conn.error),
        resources=[]
        if tools_only or not ready
        else [Resource.model_validate(r) for r in inventory.resources],
        resource_templates=[]
        if tools_only or not ready
        else [ResourceTemplate.model_validate(t) for t in inventory.templates],
        auth_status=auth,
    )


def _reason(error: str | None) -> str | None:
    """`toolsError` is codex's reason without the `MCP client for … failed to start:` lead."""
    if error is None:
        return None
    _, sep, rest = error.partition("failed to start: ")
    return f"MCP startup failed: {rest}" if sep else error


class McpHandlers:
    """Handlers of the MCP methods (see the module docstring)."""

    def __init__(self, threads: ThreadManager, mcp: McpManager) -> None:
        self._threads = threads
        self._mcp = mcp

    def _tables(self, thread_id: str | None) -> Mapping[str, McpServerToml]:
        if thread_id:
            return self._threads.mcp_tables(
                self._threads.require_loaded(thread_id_param(thread_id))
            )
        return self._threads.config.toml.mcp_servers

    def _spec(self, thread_id: str | None, server: str) -> McpServerSpec:
        spec = self._mcp.specs(self._tables(thread_id)).get(server)
        if spec is None:
            raise InvalidParams(f"unknown MCP server `{server}`")
        return spec

    async def _ready(self, spec: McpServerSpec) -> McpConnection:
        conn = await self._mcp.connection(spec)
        if conn.status != "ready":
            raise InternalError(conn.error or f"MCP server `{spec.name}` is not running")
        return conn

    async def status_list(
        self, connection: ClientConnection, params: ListMcpServerStatusParams
    ) -> ListMcpServerStatusResponse:
        specs = self._mcp.specs(self._tables(params.thread_id))
        if params.server_name is not None:
            specs = {k: v for k, v in specs.items() if k == params.server_name}
        tools_only = params.detail == "toolsAndAuthOnly"
        data = [
            _status(spec, await self._mcp.connection(spec), tools_only)
            for _, spec in sorted(specs.items())
        ]
        return ListMcpServerStatusResponse(data=data)

    async def tool_call(
        self, connection: ClientConnection, params: McpServerToolCallParams
    ) -> McpServerToolCallResponse:
        spec = self._spec(params.thread_id, params.server)
        conn = await self._ready(spec)
        arguments: dict[str, Any] | None = (
            params.arguments if isinstance(params.arguments, dict) else None
        )
        try:
            result = await conn.call_tool(params.tool, arguments, None, spec.tool_timeout_sec)
        except McpCallError as exc:
            raise InternalError(str(exc)) from None
        return McpServerToolCallResponse(
            content=list(result.get("content") or []),
            structured_content=result.get("structuredContent"),
            is_error=bool(result.get("isError")),
            meta=result.get("_meta"),
        )

    async def resource_read(
        self, connection: ClientConnection, params: McpResourceReadParams
    ) -> McpResourceReadResponse:
        spec = self._spec(params.thread_id, params.server)
        conn = await self._ready(spec)
        try:
            contents = await conn.read_resource(params.uri)
        except McpCallError as exc:
            raise InternalError(str(exc)) from None
        return McpResourceReadResponse(
            contents=[
                ResourceContent1.model_validate(c)
                if "blob" in c
                else ResourceContent0.model_validate(c)
                for c in contents
            ]
        )

    async def reload(self, connection: ClientConnection, params: object) -> Reply:
        await self._threads.reload_mcp()

        def then() -> None:
            for thread in self._threads.loaded_threads():
                self._threads.announce_mcp_startup(thread, starting=False)

        return Reply(McpServerRefreshResponse(), then=then)
