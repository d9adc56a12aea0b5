"""Multi-agent v1: the `multi_agent_v1` namespace (AGENT_LOOP.md §6.2, PROTOCOL.md §10).

Agents are named by thread id and nickname (no task paths); every call shows a
`collabAgentToolCall` item (`spawnAgent`, `sendInput`, `wait`, `closeAgent`, `resumeAgent`)
that starts `inProgress` and completes with the receivers and their states. Outputs and error
texts are 0.169's, observed with its binary.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from app_server.agent.tools import tool_items
from app_server.agent.tools.agent_control import (
    AgentControl,
    AgentError,
    AgentInfo,
    SpawnRequest,
    core_status,
)
from app_server.agent.tools.arguments import BadArguments, required_str
from app_server.agent.tools.collaboration import MIN_WAIT_MS, AgentTool, wait_window_ms
from app_server.agent.tools.collaboration_specs import MULTI_AGENT_V1, V1_SPECS
from app_server.agent.tools.registry import ToolCall, ToolContext, ToolItem, ToolOutput
from app_server.ids import parse_thread_id
from app_server.rollout import core_items
from app_server.rollout.items import CollabAgentToolCallItem
from protocol.types import UserInput
from protocol.wire_model import DEFERRED

_USER_INPUT: TypeAdapter[UserInput] = TypeAdapter(UserInput, config=DEFERRED)
_ITEM_TYPES = {"local_image": "localImage", "local_audio": "localAudio"}
_CORE_TOOLS = {
    "spawn_agent": "spawn_agent",
    "send_input": "send_input",
    "wait_agent": "wait",
    "close_agent": "close_agent",
    "resume_agent": "resume_agent",
}


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def user_inputs(arguments: dict[str, Any]) -> tuple[list[UserInput], str]:
    """The input of a v1 call (`message`, or structured `items`) and its text for the item."""
    items = arguments.get("items")
    if isinstance(items, list) and items:
        inputs: list[UserInput] = []
        for raw in items:
            if not isinstance(raw, dict):
                raise BadArguments("items must be objects")
            value = dict(raw)
            value["type"] = _ITEM_TYPES.get(str(value.get("type")), value.get("type"))
            if value["type"] == "image" and "image_url" in value:
                value["url"] = value.pop("image_url")
            if value["type"] == "text":
                value.setdefault("text_elements", [])
            try:
                inputs.append(_USER_INPUT.validate_python(value))
            except ValidationError as exc:
                raise BadArguments(f"invalid input item: {exc.errors()[0]['msg']}") from None
        text = "\n".join(str(i.get("text")) for i in items if isinstance(i, dict) and i.get("text"))
        return inputs, text
    message = arguments.get("message")
    if not isinstance(message, str) or not message:
        raise AgentError("Provide one of: message or items")
    text_input = {"type": "text", "text": message, "text_elements": []}
    return [_USER_INPUT.validate_python(text_input)], message


def agent_id(value: str) -> str:
    try:
        return parse_thread_id(value)
    except ValueError:
        raise AgentError(f"invalid agent id {value}") from None


class MultiAgentV1Tool(AgentTool):
    """One tool of the `multi_agent_v1` namespace."""

    namespace = MULTI_AGENT_V1
    specs = V1_SPECS

    def _item(
        self,
        call: ToolCall,
        context: ToolContext,
        status: str,
        receivers: list[AgentInfo],
        states: dict[str, Any],
        **extra: Any,
    ) -> CollabAgentToolCallItem:
        """A core `CollabAgentToolCall`."""
        return core_items.collab_agent_tool_call(
            call.call_id,
            _CORE_TOOLS[self.name],
            status,
            sender_thread_id=context.thread_id,
            receivers=[{"thread_id": r.thread_id, "agent_nickname": r.nickname} for r in receivers],
            prompt=extra.get("prompt"),
            model=extra.get("model"),
            reasoning_effort=extra.get("effort"),
            agents_states=states,
        )

    async def _target(self, agents: AgentControl, raw: str) -> AgentInfo:
        target = await agents.resolve(agent_id(raw))
        if target.status in ("shutdown", "notFound"):
            raise AgentError(f"agent with id {target.thread_id} not found")
        return target

    def _finish(
        self, context: ToolContext, core: CollabAgentToolCallItem, started: int
    ) -> ToolItem:
        return tool_items.publish_completed(context, core, started, None)

    async def _spawn_agent(
        self, call: ToolCall, context: ToolContext, agents: AgentControl, arguments: dict[str, Any]
    ) -> ToolOutput:
        inputs, prompt = user_inputs(arguments)
        model = arguments.get("model") if isinstance(arguments.get("model"), str) else None
        effort = arguments.get("reasoning_effort")
        request = SpawnRequest(
            call_id=call.call_id,
            turn_id=context.turn_id,
            root_turn_id=context.root_turn_id,
            message=prompt,
            inputs=inputs,
            fork_history=arguments.get("fork_context") is True,
            model=model,
            effort=effort if isinstance(effort, str) else None,
            history=list(context.model_history),
        )
        planned = await agents.plan_spawn(request)
        # codex 0.169 reports the effort asked for, else the model's default, while spawning,
        # and the child's own effort once spawned
        extra = {"prompt": prompt, "effort": request.effort or planned.model_default_effort}
        started = tool_items.publish_started(
            context, self._item(call, context, "in_progress", [], {}, model=model or "", **extra)
        )
        child = await agents.spawn(request, planned)
        core = self._item(
            call,
            context,
            "completed",
            [child],
            {child.thread_id: "pending_init"},
            model=child.model,
            prompt=prompt,
            effort=child.effort,  # the child's own effort now that it exists (codex 0.169)
        )
        item = self._finish(context, core, started)
        return ToolOutput(
            _json({"agent_id": child.thread_id, "nickname": child.nickname}), item=item
        )

    async def _send_input(
        self, call: ToolCall, context: ToolContext, agents: AgentControl, arguments: dict[str, Any]
    ) -> ToolOutput:
        raw_target = required_str(arguments, "target")
        inputs, prompt = user_inputs(arguments)
        target = await agents.resolve(agent_id(raw_target))
        started = tool_items.publish_started(
            context, self._item(call, context, "in_progress", [target], {}, prompt=prompt)
        )
        if target.status in ("shutdown", "notFound"):
            core = self._item(
                call, context, "failed", [target], {target.thread_id: "not_found"}, prompt=prompt
            )
            item = self._finish(context, core, started)
            return ToolOutput(
                f"agent with id {target.thread_id} not found", success=False, item=item
            )
        submission = await agents.send_input(
            target, inputs, interrupt=arguments.get("interrupt") is True
        )
        states = {target.thread_id: core_status(target)}
        item = self._finish(
            context,
            self._item(call, context, "completed", [target], states, prompt=prompt),
            started,
        )
        return ToolOutput(_json({"submission_id": submission}), item=item)

    async def _wait_agent(
        self, call: ToolCall, context: ToolContext, agents: AgentControl, arguments: dict[str, Any]
    ) -> ToolOutput:
        raw_targets = arguments.get("targets")
        if not isinstance(raw_targets, list):
            raise BadArguments("missing field `targets`")
        if not raw_targets:
            raise AgentError("agent ids must be non-empty")
        targets = [await agents.resolve(agent_id(str(raw))) for raw in raw_targets]
        raw = arguments.get("timeout_ms")
        requested = int(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
        wait_ms, _ = wait_window_ms(requested, self._min_wait_ms)
        started = tool_items.publish_started(
            context, self._item(call, context, "in_progress", targets, {})
        )
        final = await agents.wait_for_final(targets, wait_ms / 1000)
        states = {agent.thread_id: core_status(agent) for agent in final}
        item = self._finish(context, self._item(call, context, "completed", final, states), started)
        return ToolOutput(_json({"status": states, "timed_out": not final}), item=item)

    async def _close_agent(
        self, call: ToolCall, context: ToolContext, agents: AgentControl, arguments: dict[str, Any]
    ) -> ToolOutput:
        target = await self._target(agents, required_str(arguments, "target"))
        started = tool_items.publish_started(
            context, self._item(call, context, "in_progress", [target], {})
        )
        previous = core_status(target)
        await agents.close(target)
        item = self._finish(
            context,
            self._item(call, context, "completed", [target], {target.thread_id: previous}),
            started,
        )
        return ToolOutput(_json({"previous_status": previous}), item=item)

    async def _resume_agent(
        self, call: ToolCall, context: ToolContext, agents: AgentControl, arguments: dict[str, Any]
    ) -> ToolOutput:
        target = await agents.resolve(agent_id(required_str(arguments, "id")))
        started = tool_items.publish_started(
            context, self._item(call, context, "in_progress", [target], {})
        )
        await agents.reopen(target)
        item = self._finish(
            context,
            self._item(call, context, "completed", [target], {target.thread_id: "pending_init"}),
            started,
        )
        return ToolOutput(_json({"status": "pending_init"}), item=item)


def multi_agent_v1_tools(min_wait_ms: int = MIN_WAIT_MS) -> list[MultiAgentV1Tool]:
    return [MultiAgentV1Tool(name, min_wait_ms=min_wait_ms) for name in V1_SPECS]
