"""The tool registry: which tools the model is offered and how a call reaches one.

A tool is a spec (what the model sees in `tools`) plus a coroutine that runs a call and returns
the text the model gets back. Calls to tools the registry does not know are answered the way
codex 0.169 answers them — `unsupported call: <name>` — so the model can recover, and the turn
goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from protocol.wire_model import WireModel


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call from the model's output (`function_call` or `custom_tool_call`)."""

    call_id: str
    name: str
    namespace: str | None
    kind: Literal["function", "custom"]
    arguments: str
    """JSON arguments of a function call, or the free-form input of a custom tool call."""

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ToolCall:
        custom = item.get("type") == "custom_tool_call"
        return cls(
            call_id=str(item.get("call_id") or item.get("id") or ""),
            name=str(item.get("name") or ""),
            namespace=item.get("namespace"),
            kind="custom" if custom else "function",
            arguments=str(item.get("input") if custom else item.get("arguments") or ""),
        )

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name


@dataclass(slots=True)
class ToolOutput:
    """What the model gets back for a call."""

    text: str
    success: bool = True


@dataclass(slots=True)
class ToolContext:
    """What a running tool may use: its thread and turn, and a way to notify subscribers."""

    thread_id: str
    turn_id: str
    cwd: str
    publish: Callable[[str, WireModel], None]
    extras: dict[str, Any] = field(default_factory=dict)


class Tool(Protocol):
    """A tool the model can call."""

    @property
    def name(self) -> str: ...

    @property
    def namespace(self) -> str | None: ...

    def spec(self) -> dict[str, Any]:
        """The Responses API tool spec (without the namespace wrapper)."""
        ...

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput: ...


class ToolRegistry:
    """The tools offered in a turn, by (namespace, name)."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[tuple[str | None, str], Tool] = {}
        for tool in tools:
            self._tools[(tool.namespace, tool.name)] = tool

    def specs(self) -> list[dict[str, Any]]:
        """Top-level tools, then one `namespace` group per namespace."""
        top = [t.spec() for (ns, _), t in self._tools.items() if ns is None]
        groups: dict[str, list[dict[str, Any]]] = {}
        for (ns, _), tool in self._tools.items():
            if ns is not None:
                groups.setdefault(ns, []).append(tool.spec())
        for ns, specs in groups.items():
            top.append({"type": "namespace", "name": ns, "description": "", "tools": specs})
        return top

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput:
        tool = self._tools.get((call.namespace, call.name))
        if tool is None:
            return ToolOutput(f"unsupported call: {call.name}", success=False)
        return await tool.run(call, context)


def output_item(call: ToolCall, output: ToolOutput) -> dict[str, Any]:
    """The history item carrying a call's result back to the model."""
    kind = "custom_tool_call_output" if call.kind == "custom" else "function_call_output"
    return {"type": kind, "call_id": call.call_id, "output": output.text}
