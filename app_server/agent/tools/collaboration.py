"""Multi-agent v2: the `collaboration` namespace (AGENT_LOOP.md §6.1, PROTOCOL.md §10).

Outputs, items and error texts are 0.169's, observed with its binary: `spawn_agent` answers
`{"task_name": "/root/x"}` and shows a `subAgentActivity` `started` item; `send_message` and
`followup_task` answer `""` and show `interacted`; `interrupt_agent` answers the previous
status and shows `interrupted`; `wait_agent` shows a `collabAgentToolCall` `wait` item and
answers whether something arrived; `list_agents` shows nothing. A refused call shows no item
and answers the reason as plain text.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson

from app_server.agent.inter_agent import ROOT_AGENT_PATH
from app_server.agent.tools import tool_items
from app_server.agent.tools.agent_control import (
    AgentControl,
    AgentError,
    AgentInfo,
    SpawnRequest,
    core_status,
)
from app_server.agent.tools.arguments import BadArguments, json_arguments, required_str
from app_server.agent.tools.collaboration_specs import COLLABORATION, V2_SPECS
from app_server.agent.tools.registry import ToolCall, ToolContext, ToolOutput
from app_server.config.defaults import DEFAULT_MIN_WAIT_TIMEOUT_MS
from app_server.rollout import core_items
from app_server.rollout.items import SubAgentActivityItem

DEFAULT_WAIT_MS = 30_000
MIN_WAIT_MS = DEFAULT_MIN_WAIT_TIMEOUT_MS
"""The floor of `wait_agent` timeouts unless config `agents.min_wait_timeout_ms` says otherwise
(see that default for why)."""
MAX_WAIT_MS = 3_600_000


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _optional_str(arguments: dict[str, Any], key: str) -> str | None:
    value = arguments.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadArguments(f"invalid type for `{key}`: expected a string")
    return value


def activity(
    call_id: str, kind: str, agent: AgentInfo, *, with_model: bool = False
) -> SubAgentActivityItem:
    """A core `SubAgentActivity` item."""
    return core_items.sub_agent_activity(
        call_id,
        kind,
        agent_thread_id=agent.thread_id,
        agent_path=agent.path,
        model=agent.model if with_model else None,
        reasoning_effort=agent.effort if with_model else None,
    )


def wait_window_ms(requested: int | None, floor_ms: int) -> tuple[int, str]:
    """The wait to do and the note (0.169's) when the request was clamped."""
    if requested is None:
        return DEFAULT_WAIT_MS, ""
    if requested < floor_ms:
        note = f"\n\nRequested timeout of {requested}ms was clamped to the minimum of {floor_ms}ms."
        return floor_ms, note
    if requested > MAX_WAIT_MS:
        note = (
            f"\n\nRequested timeout of {requested}ms was clamped to the maximum of {MAX_WAIT_MS}ms."
        )
        return MAX_WAIT_MS, note
    return requested, ""


class AgentTool:
    """A multi-agent tool: a call runs the `_<name>` method of its class with the thread's
    `AgentControl` and the parsed arguments; bad arguments and refusals become the text the
    model reads. Subclasses set `namespace` and `specs`."""

    namespace: str
    specs: dict[str, dict[str, Any]]
    offered = True

    def __init__(self, name: str, *, min_wait_ms: int = MIN_WAIT_MS) -> None:
        self.name = name
        self._min_wait_ms = min_wait_ms

    def spec(self) -> dict[str, Any]:
        return self.specs[self.name]

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput:
        agents = context.agents
        if agents is None:
            return ToolOutput(f"unsupported call: {self.namespace}{self.name}", success=False)
        try:
            arguments = json_arguments(call)
            handler = getattr(self, f"_{self.name}")
            output: ToolOutput = await handler(call, context, agents, arguments)
            return output
        except BadArguments as bad:
            return bad.output
        except AgentError as refused:
            return ToolOutput(str(refused), success=False)


class CollaborationTool(AgentTool):
    """One tool of the `collaboration` namespace."""

    namespace = COLLABORATION
    specs = V2_SPECS

    async def _spawn_agent(
        self, call: ToolCall, context: ToolContext, agents: AgentControl, arguments: dict[str, Any]
    ) -> ToolOutput:
        task_name = required_str(arguments, "task_name")
        message = required_str(arguments, "message")
        request = SpawnRequest(
            call_id=call.call_id,
            turn_id=context.turn_id,
            root_turn_id=context.root_turn_id,
            message=message,
            task_name=task_name,
            fork_history=_optional_str(arguments, "fork_turns") != "none",
            model=_optional_str(arguments, "model"),
            effort=_optional_str(arguments, "reasoning_effort"),
            history=list(context.model_history),
        )
        planned = await agents.plan_spawn(request)
        core = activity(call.call_id, "started", planned, with_model=True)
        started = tool_items.publish_started(context, core)
        child = await agents.spawn(request, planned)
        item = tool_items.publish_completed(context, core, started, None)
        return ToolOutput(_json({"task_name": child.path}), item=item)

    async def _message(
        self,
        call: ToolCall,
        context: ToolContext,
        agents: AgentControl,
        arguments: dict[str, Any],
        *,
        new_task: bool,
    ) -> ToolOutput:
        target_name = required_str(arguments, "target")
        message = required_str(arguments, "message")
        target = await agents.resolve(target_name)
        if new_task and target.path == ROOT_AGENT_PATH:
            raise AgentError("Follow-up tasks can't target the root agent")
        if not message:
            raise AgentError("Empty message can't be sent to an agent")
        core = activity(call.call_id, "interacted", target)
        started = tool_items.publish_started(context, core)
        await agents.send(target, message, trigger_turn=new_task)
        item = tool_items.publish_completed(context, core, started, None)
        return ToolOutput("", item=item)

    async def _send_message(
        self, call: ToolCall, context: ToolContext, agents: AgentControl, arguments: dict[str, Any]
    ) -> ToolOutput:
        return await self._message(call, context, agents, arguments, new_task=False)

    async def _followup_task(
        self, call: ToolCall, context: ToolContext, agents: AgentControl, arguments: dict[str, Any]
    ) -> ToolOutput:
        return await self._message(call, context, agents, arguments, new_task=True)

    async def _interrupt_agent(
        self, call: ToolCall, context: ToolContext, agents: AgentControl, arguments: dict[str, Any]
    ) -> ToolOutput:
        target = await agents.resolve(required_str(arguments, "target"))
        if target.path == ROOT_AGENT_PATH:
            raise AgentError("root is not a spawned agent")
        core = activity(call.call_id, "interrupted", target)
        started = tool_items.publish_started(context, core)
        await agents.interrupt(target)
        item = tool_items.publish_completed(context, core, started, None)
        return ToolOutput(_json({"previous_status": core_status(target)}), item=item)

    async def _list_agents(
        self, call: ToolCall, context: ToolContext, agents: AgentControl, arguments: dict[str, Any]
    ) -> ToolOutput:
        prefix = _optional_str(arguments, "path_prefix")
        if prefix is not None:
            if prefix.endswith("/"):
                raise AgentError("absolute agent path must not end with `/`")
            if not prefix.startswith("/"):
                prefix = f"{agents.agent_path}/{prefix}"
        listed = [
            {"agent_name": agent.path, "agent_status": core_status(agent)}
            for agent in await agents.live_agents(prefix)
        ]
        return ToolOutput(_json({"agents": listed}))

    async def _wait_agent(
        self, call: ToolCall, context: ToolContext, agents: AgentControl, arguments: dict[str, Any]
    ) -> ToolOutput:
        raw = arguments.get("timeout_ms")
        if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | float)):
            raise BadArguments("invalid type for `timeout_ms`: expected a number")
        wait_ms, note = wait_window_ms(None if raw is None else int(raw), self._min_wait_ms)
        core = core_items.collab_wait(call.call_id, context.thread_id, "in_progress")
        started = tool_items.publish_started(context, core)
        mail = asyncio.ensure_future(agents.mailbox.wait())
        steer = asyncio.ensure_future(context.input_arrived.wait())
        try:
            await asyncio.wait({mail, steer}, timeout=wait_ms / 1000, return_when="FIRST_COMPLETED")
        finally:
            for waiter in (mail, steer):
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter
        item = tool_items.publish_completed(
            context,
            core_items.collab_wait(call.call_id, context.thread_id, "completed"),
            started,
            None,
        )
        if mail.done() and not mail.cancelled():
            result = {"message": f"Wait completed.{note}", "timed_out": False}
        elif steer.done() and not steer.cancelled():
            result = {"message": f"Wait interrupted by new input.{note}", "timed_out": False}
        else:
            result = {"message": f"Wait timed out.{note}", "timed_out": True}
        return ToolOutput(_json(result), item=item)


V2_TOOL_NAMES = tuple(V2_SPECS)


def collaboration_tools(min_wait_ms: int = MIN_WAIT_MS) -> list[CollaborationTool]:
    return [CollaborationTool(name, min_wait_ms=min_wait_ms) for name in V2_TOOL_NAMES]
