"""Codex's three MCP resource tools: `list_mcp_resources`, `list_mcp_resource_templates` and
`read_mcp_resource` (their specs and answers as 0.169 sends them).

The listings come from what each ready server reported when it started; a read asks the server.
Each call shows an `mcpToolCall` item (server `codex` for the listings, the named server for a
read) and the model reads the answer as compact JSON text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from app_server.agent.mcp import model_tools
from app_server.agent.mcp.manager import McpManager
from app_server.agent.tools import tool_items
from app_server.agent.tools.registry import ToolCall, ToolContext, ToolOutput
from app_server.rollout import core_items
from app_server.rollout.items import McpResultValue

if TYPE_CHECKING:
    from app_server.agent.mcp.connection import McpConnection

CODEX_SERVER = "codex"
"""The `server` of the items of the resource-listing tools (codex's own name)."""

RESOURCE_KEYS = ("uri", "name", "title", "description", "mimeType", "size", "annotations")
TEMPLATE_KEYS = ("uriTemplate", "name", "title", "description", "mimeType", "annotations")


def _ordered(value: dict[str, Any], keys: tuple[str, ...], server: str) -> dict[str, Any]:
    """A resource as codex lists it: `server` first, then its fields in codex's order."""
    out: dict[str, Any] = {"server": server}
    out.update({key: value[key] for key in keys if key in value})
    out.update({key: v for key, v in value.items() if key not in out})
    return out


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


RESOURCE_TOOL_SPECS: dict[str, dict[str, Any]] = {
    "list_mcp_resources": {
        "type": "function",
        "name": "list_mcp_resources",
        "description": (
            "Lists resources provided by MCP servers. Resources allow servers to share data that "
            "provides context to language models, such as files, database schemas, or "
            "application-specific information. Prefer resources over web search when possible."
        ),
        "strict": False,
        "parameters": {
            "type": "object",
            "properties": {
                "cursor": {
                    "type": "string",
                    "description": (
                        "Opaque cursor from a previous list_mcp_resources call; omit for the "
                        "first page."
                    ),
                },
                "server": {
                    "type": "string",
                    "description": (
                        "MCP server name. Omit to list resources from every configured server."
                    ),
                },
            },
            "additionalProperties": False,
        },
    },
    "list_mcp_resource_templates": {
        "type": "function",
        "name": "list_mcp_resource_templates",
        "description": (
            "Lists resource templates provided by MCP servers. Parameterized resource templates "
            "allow servers to share data that takes parameters and provides context to language "
            "models, such as files, database schemas, or application-specific information. "
            "Prefer resource templates over web search when possible."
        ),
        "strict": False,
        "parameters": {
            "type": "object",
            "properties": {
                "cursor": {
                    "type": "string",
                    "description": (
                        "Opaque cursor from a previous list_mcp_resource_templates call; omit "
                        "for the first page."
                    ),
                },
                "server": {
                    "type": "string",
                    "description": (
                        "MCP server name. Omit to list resource templates from every "
                        "configured server."
                    ),
                },
            },
            "additionalProperties": False,
        },
    },
    "read_mcp_resource": {
        "type": "function",
        "name": "read_mcp_resource",
        "description": (
            "Read a specific resource from an MCP server given the server name and resource URI."
        ),
        "strict": False,
        "parameters": {
            "type": "object",
            "properties": {
                "server": {
                    "type": "string",
                    "description": (
                        "MCP server name exactly as configured. Must match the 'server' field "
                        "returned by list_mcp_resources."
                    ),
                },
                "uri": {
                    "type": "string",
                    "description": (
                        "Resource URI to read. Must be one of the URIs returned by "
                        "list_mcp_resources."
                    ),
                },
            },
            "required": ["server", "uri"],
            "additionalProperties": False,
        },
    },
}


class ResourceTool(Struct, frozen=True):
    """`list_mcp_resources`, `list_mcp_resource_templates` or `read_mcp_resource`."""

    name: str
    manager: McpManager
    connections: Mapping[str, McpConnection]
    namespace: None = None
    offered: bool = True

    def spec(self) -> dict[str, Any]:
        return RESOURCE_TOOL_SPECS[self.name]

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput:
        arguments = model_tools.call_arguments(call.arguments)
        args = arguments if isinstance(arguments, dict) else {}
        wanted = args.get("server")
        server = str(wanted) if self.name == "read_mcp_resource" and wanted else CODEX_SERVER
        core = core_items.mcp_tool_call(call.call_id, server, self.name, arguments, False)
        started_ms = tool_items.publish_started(context, core)
        clock = time.monotonic()
        try:
            text = await self._answer(args)
        except Exception as exc:  # unknown server, bad arguments, a failed read
            done = core_items.mcp_tool_call(
                call.call_id,
                server,
                self.name,
                arguments,
                False,
                error=str(exc),
                seconds=time.monotonic() - clock,
            )
            item = tool_items.publish_completed(
                context, done, started_ms, core_items.legacy_mcp_tool_call(done)
            )
            return ToolOutput(str(exc), success=False, item=item)
        result: McpResultValue = {"content": [{"type": "text", "text": text}], "isError": False}
        done = core_items.mcp_tool_call(
            call.call_id,
            server,
            self.name,
            arguments,
            False,
            result=result,
            seconds=time.monotonic() - clock,
        )
        item = tool_items.publish_completed(
            context, done, started_ms, core_items.legacy_mcp_tool_call(done)
        )
        return ToolOutput(text, item=item)

    async def _answer(self, args: dict[str, Any]) -> str:
        wanted = args.get("server")
        if wanted is not None and wanted not in self.connections:
            raise LookupError(f"unknown MCP server '{wanted}'")
        chosen = [
            (name, conn)
            for name, conn in sorted(self.connections.items())
            if (wanted is None or name == wanted) and conn.status == "ready"
        ]
        if self.name == "list_mcp_resources":
            resources = [
                _ordered(r, RESOURCE_KEYS, name)
                for name, conn in chosen
                for r in conn.inventory.resources
            ]
            return _compact({"resources": resources})
        if self.name == "list_mcp_resource_templates":
            templates = [
                _ordered(t, TEMPLATE_KEYS, name)
                for name, conn in chosen
                for t in conn.inventory.templates
            ]
            return _compact({"resourceTemplates": templates})
        uri = str(args.get("uri") or "")
        if not wanted or not uri:
            raise ValueError("read_mcp_resource needs `server` and `uri`")
        conn = await self.manager.connection(self.connections[wanted].spec)
        contents = await conn.read_resource(uri)
        return _compact({"server": wanted, "uri": uri, "contents": contents})
