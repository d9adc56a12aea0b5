"""The MCP tools a turn offers: one namespace per server (and `resource_tools`' three).

A call shows clients an `mcpToolCall` item (`item/started`, then `item/completed` with the result
or the error and `durationMs`) and is recorded as codex's core `McpToolCall` item; the model
reads what `model_tools` renders. The turn waits for the thread's servers to settle before its
first request (codex does too), so the tools a server offers are known when the model is asked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from msgspec import Struct

from app_server.agent import approvals
from app_server.agent.mcp import model_tools
from app_server.agent.mcp.approval import (
    ELICITATION_METHOD,
    NEVER_MESSAGE,
    REJECTED_MESSAGE,
    McpApprovalMemory,
    approval_request,
    approval_rule,
    read_elicit_answer,
    server_elicitation,
)
from app_server.agent.mcp.manager import McpManager
from app_server.agent.mcp.resource_tools import RESOURCE_TOOL_SPECS, ResourceTool
from app_server.agent.mcp.spec import McpServerSpec
from app_server.agent.tools import tool_items
from app_server.agent.tools.registry import Tool, ToolCall, ToolContext, ToolOutput
from app_server.config.keys import McpServerToml
from app_server.rollout import core_items
from app_server.rollout.items import McpResultValue
from protocol.types import DangerFullAccessSandboxPolicy

ABORTED_MESSAGE = "aborted by user"
"""The error of a call whose turn was interrupted while it ran."""


class McpTool(Struct, frozen=True):
    """One tool of one server, offered in the server's namespace."""

    manager: McpManager
    server: McpServerSpec
    tool: dict[str, Any]
    memory: McpApprovalMemory
    offered: bool = True

    @property
    def name(self) -> str:
        return str(self.tool["name"])

    @property
    def namespace(self) -> str:
        return self.server.namespace

    @property
    def read_only(self) -> bool:
        annotations = self.tool.get("annotations") or {}
        return annotations.get("readOnlyHint") is True

    def spec(self) -> dict[str, Any]:
        return model_tools.function_spec(self.tool)

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput:
        arguments = model_tools.call_arguments(call.arguments)
        server, tool = self.server.name, self.name
        core = core_items.mcp_tool_call(call.call_id, server, tool, arguments, self.read_only)
        started_ms = tool_items.publish_started(context, core)
        clock = time.monotonic()
        refusal = await self._refusal(context, arguments)
        if refusal is not None:
            return self._finish(context, core, started_ms, clock, error=refusal, ran=False)
        if not isinstance(arguments, dict):
            return self._finish(
                context, core, started_ms, clock, error="failed to parse tool call arguments"
            )
        try:
            conn = await self.manager.connection(self.server)
            dumped = await conn.call_tool(
                tool, arguments, self._elicit_handler(context), self.server.tool_timeout_sec
            )
        except asyncio.CancelledError:  # `turn/interrupt`: the item ends failed, then the turn
            aborted = self._finish(context, core, started_ms, clock, error=ABORTED_MESSAGE)
            context.aborted_item = aborted.item
            raise
        except Exception as exc:  # McpCallError, or a server that is not running
            return self._finish(context, core, started_ms, clock, error=str(exc))
        result = model_tools.result_value(dumped)
        return self._finish(context, core, started_ms, clock, result=result)

    async def _refusal(self, context: ToolContext, arguments: Any) -> str | None:
        """None when the call may run; else the error its item fails with."""
        settings = context.settings
        policy = settings.approval_policy
        full_access = isinstance(settings.sandbox, DangerFullAccessSandboxPolicy)
        rule = approval_rule(self.read_only, policy if isinstance(policy, str) else "", full_access)
        key = (self.server.name, self.name)
        if rule == "run" or key in self.memory.approved:
            return None
        if rule == "refuse":
            return NEVER_MESSAGE
        request = approval_request(
            context.thread_id, context.turn_id, self.server.name, self.tool, arguments
        )
        approvals.announce_waiting(context.host)
        answer = read_elicit_answer(await context.host.ask(ELICITATION_METHOD, request))
        approvals.announce_running(context.host)
        if answer.action != "accept":
            return REJECTED_MESSAGE
        if answer.persist is not None:
            self.memory.approved.add(key)
        return None

    def _elicit_handler(self, context: ToolContext) -> Any:
        async def forward(params: dict[str, Any]) -> dict[str, Any]:
            request = server_elicitation(
                context.thread_id, context.turn_id, self.server.name, params
            )
            approvals.announce_waiting(context.host)
            answer = read_elicit_answer(await context.host.ask(ELICITATION_METHOD, request))
            approvals.announce_running(context.host)
            out: dict[str, Any] = {"action": answer.action}
            if answer.action == "accept":
                out["content"] = answer.content or {}
            return out

        return forward

    def _finish(
        self,
        context: ToolContext,
        core: Any,
        started_ms: int,
        clock: float,
        *,
        result: McpResultValue | None = None,
        error: str | None = None,
        ran: bool = True,
    ) -> ToolOutput:
        seconds = time.monotonic() - clock
        done = core_items.mcp_tool_call(
            core["id"],
            core["server"],
            core["tool"],
            core["arguments"],
            self.read_only,
            result=result,
            error=error,
            seconds=seconds if ran else 0.0,
        )
        item = tool_items.publish_completed(
            context, done, started_ms, core_items.legacy_mcp_tool_call(done)
        )
        if result is not None:
            output = model_tools.result_output(result, seconds)
            return ToolOutput(output, success=not result["isError"], item=item)
        return ToolOutput(model_tools.error_output(error or "", seconds), False, item=item)


class McpToolSource(Struct):
    """Loads a thread's MCP tools when its turn begins (the registry's `prepare`)."""

    manager: McpManager
    tables: Mapping[str, McpServerToml]
    memory: McpApprovalMemory

    async def load(self) -> tuple[list[Tool], list[Tool]]:
        """(the resource tools, the servers' namespaced tools), after every server settled."""
        specs = self.manager.specs(self.tables)
        if not specs:
            return [], []
        connections = await self.manager.ready(self.tables)
        by_name = {conn.spec.name: conn for conn in connections}
        resource_tools: list[Tool] = [
            ResourceTool(name, self.manager, by_name) for name in RESOURCE_TOOL_SPECS
        ]
        namespaced: list[Tool] = []
        for name, spec in specs.items():
            conn = by_name.get(name)
            if conn is None or conn.status != "ready":
                continue
            for tool in sorted(conn.inventory.tools, key=lambda t: str(t["name"])):
                if spec.offers(str(tool["name"])):
                    namespaced.append(McpTool(self.manager, spec, tool, self.memory))
        return resource_tools, namespaced
