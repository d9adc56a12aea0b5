"""The tool registry: which tools the model is offered and how a call reaches one.

A tool is a spec (what the model sees in `tools`) plus a coroutine that runs a call and returns
what the model gets back, and — for tools clients see, like commands and patches — the item to
persist. Calls to tools the registry does not know are answered the way codex 0.169 answers them —
`unsupported call: <name>` — so the model can recover, and the turn goes on. A tool may be
registered without being offered (`offered = False`): models trained on an older spelling (the
`shell` tool) still get their calls run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Literal, Protocol

from msgspec import Struct, field

from app_server.agent.tools.agent_control import AgentControl
from app_server.agent.tools.patch import TurnDiffTracker
from app_server.agent.tools.workspace import ThreadWorkspace
from app_server.client_connection import ServerRequestOutcome
from app_server.rollout.events import LegacyToolEvent
from app_server.rollout.items import CoreItem
from app_server.settings import ResolvedSettings
from protocol.types import ThreadStatus
from protocol.wire_model import WireModel


class ToolCall(Struct, frozen=True):
    """One call from the model's output (`function_call`, `custom_tool_call` or
    `local_shell_call`)."""

    call_id: str
    name: str
    namespace: str | None
    kind: Literal["function", "custom", "local_shell"]
    arguments: str
    """JSON arguments of a function call, or the free-form input of a custom tool call."""
    action: dict[str, Any] | None = None
    """The `action` of a `local_shell_call` (`{"type": "exec", "command": [...], …}`)."""

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ToolCall:
        kind = item.get("type")
        call_id = str(item.get("call_id") or item.get("id") or "")
        if kind == "local_shell_call":
            action = item.get("action")
            return cls(
                call_id=call_id,
                name="local_shell",
                namespace=None,
                kind="local_shell",
                arguments="",
                action=action if isinstance(action, dict) else {},
            )
        custom = kind == "custom_tool_call"
        return cls(
            call_id=call_id,
            name=str(item.get("name") or ""),
            namespace=item.get("namespace"),
            kind="custom" if custom else "function",
            arguments=str(item.get("input") if custom else item.get("arguments") or ""),
        )

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name


class ToolItem(Struct, frozen=True):
    """The item a call showed clients, as the rollout keeps it."""

    core: CoreItem
    """Codex's core TurnItem (`CommandExecution`, `FileChange`, …) for `item_completed`."""
    legacy: LegacyToolEvent | None
    """The `event_msg` payload a legacy-mode thread records instead (None: nothing)."""
    started_at_ms: int
    completed_at_ms: int


class ToolOutput(Struct):
    """What the model gets back for a call, and what else the turn must record or do."""

    output: str | list[dict[str, Any]]
    """`function_call_output.output`: text, or content items (an image for `view_image`)."""
    success: bool = True
    item: ToolItem | None = None
    abort_turn: bool = False
    """The client answered an approval with `cancel`: the turn ends as interrupted."""


class ToolHost(Protocol):
    """What a running tool needs from its thread (the turn's host)."""

    def publish(self, params: WireModel, *, method: str | None = None) -> None:
        """Notify the thread's subscribers (the method is the params type's unless given)."""
        ...

    def set_status(self, status: ThreadStatus) -> None:
        """Change the thread's status (every connection is told)."""
        ...

    async def ask(self, method: str, params: WireModel) -> ServerRequestOutcome:
        """Send a server request (an approval) to the thread's clients and wait for the first
        answer; ends unanswered when nobody can answer (see `threads/server_requests.py`)."""
        ...

    def record_item(self, turn_id: str, item: ToolItem) -> None:
        """Persist an item that finished after its tool call returned (a background command
        that exited later), under the turn that started it."""
        ...


class ToolContext(Struct):
    """What a running tool may use: its thread and turn, the thread's settings and tool state,
    and its host for notifications and approvals."""

    thread_id: str
    turn_id: str
    settings: ResolvedSettings
    host: ToolHost
    workspace: ThreadWorkspace
    turn_diff: TurnDiffTracker
    input_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when new user input is steered into the turn (`sleep` ends early)."""
    aborted_item: ToolItem | None = None
    """Set by a tool that is being cancelled (`turn/interrupt`) after it completed its item, so
    the turn records the item with the call's `aborted` output."""
    agents: AgentControl | None = None
    """The thread's sub-agent operations (multi-agent tools only)."""
    root_turn_id: str = ""
    model_history: list[dict[str, Any]] = field(default_factory=list)
    """The thread's model history so far (a spawned agent may inherit it)."""

    @property
    def cwd(self) -> str:
        return self.settings.cwd

    def publish(self, params: WireModel, *, method: str | None = None) -> None:
        self.host.publish(params, method=method)


class Tool(Protocol):
    """A tool the model can call."""

    @property
    def name(self) -> str: ...

    @property
    def namespace(self) -> str | None: ...

    @property
    def offered(self) -> bool:
        """Whether the spec is sent to the model (calls are run either way)."""
        ...

    def spec(self) -> dict[str, Any]:
        """The Responses API tool spec (without the namespace wrapper)."""
        ...

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput: ...


class ToolSource(Protocol):
    """Tools known only when a turn begins (an MCP server's): loaded once by `prepare`."""

    async def load(self) -> tuple[list[Tool], list[Tool]]:
        """(top-level tools, namespaced tools) to add."""
        ...


TOP_LEVEL_BEFORE = (None, "apply_patch")
"""Loaded top-level tools go before this tool (after the command tools, as 0.169 orders them)."""
NAMESPACED_BEFORE = ("clock", "sleep")
"""Loaded namespaces go before this tool's namespace."""


NAMESPACE_DESCRIPTIONS = {
    "clock": "Tools for reading the time and waiting.",
    "collaboration": "Tools for spawning and managing sub-agents.",
    "multi_agent_v1": "Tools for spawning and managing sub-agents.",
}
"""The `description` of each tool namespace group the model is offered."""


class ToolRegistry:
    """The tools available in a turn, by (namespace, name)."""

    def __init__(self, tools: Iterable[Tool] = (), sources: Iterable[ToolSource] = ()) -> None:
        self._tools: dict[tuple[str | None, str], Tool] = {}
        for tool in tools:
            self._tools[(tool.namespace, tool.name)] = tool
        self._sources = list(sources)

    async def prepare(self) -> None:
        """Load the sources' tools (once; a turn calls this before its first request)."""
        sources, self._sources = self._sources, []
        for source in sources:
            top, namespaced = await source.load()
            self._insert(top, TOP_LEVEL_BEFORE)
            self._insert(namespaced, NAMESPACED_BEFORE)

    def _insert(self, tools: list[Tool], before: tuple[str | None, str]) -> None:
        if not tools:
            return
        ordered: dict[tuple[str | None, str], Tool] = {}
        added = False
        for key, tool in self._tools.items():
            if key == before and not added:
                ordered.update({(t.namespace, t.name): t for t in tools})
                added = True
            ordered[key] = tool
        if not added:
            ordered.update({(t.namespace, t.name): t for t in tools})
        self._tools = ordered

    def specs(self) -> list[dict[str, Any]]:
        """Offered top-level tools, then one `namespace` group per namespace."""
        offered = [(key, tool) for key, tool in self._tools.items() if tool.offered]
        top = [tool.spec() for (ns, _), tool in offered if ns is None]
        groups: dict[str, list[dict[str, Any]]] = {}
        for (ns, _), tool in offered:
            if ns is not None:
                groups.setdefault(ns, []).append(tool.spec())
        for ns, specs in groups.items():
            description = NAMESPACE_DESCRIPTIONS.get(ns) or (
                f"Tools in the {ns} namespace." if ns.startswith("mcp__") else ""
            )
            top.append(
                {"type": "namespace", "name": ns, "description": description, "tools": specs}
            )
        return top

    def get(self, call: ToolCall) -> Tool | None:
        return self._tools.get((call.namespace, call.name))

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput:
        tool = self.get(call)
        if tool is None:
            if call.kind == "custom":
                return ToolOutput(f"unsupported custom tool call: {call.name}", success=False)
            return ToolOutput(f"unsupported call: {call.namespace or ''}{call.name}", False)
        return await tool.run(call, context)


def aborted_output(seconds: float) -> str:
    """What the model reads for a call its turn ended before finishing (0.169's text)."""
    return f"Wall time: {seconds:.1f} seconds\naborted by user"


def output_item(call: ToolCall, output: str | list[dict[str, Any]]) -> dict[str, Any]:
    """The history item carrying a call's result back to the model."""
    kinds = {
        "custom": "custom_tool_call_output",
        "function": "function_call_output",
        "local_shell": "function_call_output",
    }
    return {"type": kinds[call.kind], "call_id": call.call_id, "output": output}
