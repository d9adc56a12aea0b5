"""What the multi-agent tools may ask of the thread they run in: the seam between the agent
layer (the `collaboration` and `multi_agent_v1` tools) and the thread layer that owns threads.

The tools decide what the model is told and which items clients see; the thread layer
(`threads/agent_tree.py`) creates the child threads, runs their turns, routes messages between
mailboxes and enforces the limits. A refusal is an `AgentError` whose text the model reads.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from msgspec import Struct, field

from app_server.agent.inter_agent import Mailbox
from protocol.types import UserInput

AgentStatus = Literal[
    "pendingInit", "running", "interrupted", "completed", "errored", "shutdown", "notFound"
]
"""An agent's state as `collabAgentToolCall.agentsStates` spells it."""

FINAL_STATUSES: frozenset[str] = frozenset(
    {"interrupted", "completed", "errored", "shutdown", "notFound"}
)


def core_status(agent: AgentInfo) -> Any:
    """The agent's status as codex's core `AgentStatus` serializes it (what `list_agents`,
    `interrupt_agent` and the rollout's `agents_states` say): `"running"`,
    `{"completed": <final message>}`, `{"errored": <error>}`, `"pending_init"`, …"""
    if agent.status == "completed":
        return {"completed": agent.last_message}
    if agent.status == "errored":
        return {"errored": agent.last_message or ""}
    return {"pendingInit": "pending_init", "notFound": "not_found"}.get(agent.status, agent.status)


class AgentError(Exception):
    """A collaboration call that cannot be done (unknown target, a limit reached, bad
    arguments); the message is what the model reads."""


class AgentInfo(Struct, frozen=True):
    """One agent of the session tree as the tools see it."""

    thread_id: str
    path: str | None
    """Its agent path (`/root/helper_task`); None for v1 agents, which have no task name."""
    nickname: str | None
    role: str | None
    status: AgentStatus
    model: str | None = None
    effort: str | None = None
    """Its reasoning effort (for a spawn: the one asked for, else its parent's, else its
    model's default), as codex 0.169 reports it on sub-agent items."""
    model_default_effort: str | None = None
    """Its model's default effort: what a v1 spawn being made reports when the call asked for
    none (codex 0.169)."""
    last_message: str | None = None
    """Its last turn's final message (None while running or if it gave none)."""


class SpawnRequest(Struct, frozen=True):
    """What a spawn call asks for."""

    call_id: str
    turn_id: str
    root_turn_id: str
    message: str
    """The task, as text."""
    task_name: str | None = None
    """v2: the last segment of the child's agent path; v1: None."""
    inputs: list[UserInput] = field(default_factory=list)
    """v1: the task as structured input items (used instead of `message` when given)."""
    fork_history: bool = True
    model: str | None = None
    effort: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    """The spawning thread's model history, inherited by the child when `fork_history`."""


class AgentControl(Protocol):
    """The sub-agent operations of one thread (see the module docstring)."""

    @property
    def agent_path(self) -> str:
        """This thread's own agent path (`/root` for a thread that was not spawned)."""
        ...

    @property
    def mailbox(self) -> Mailbox:
        """Messages for this thread from other agents."""
        ...

    async def plan_spawn(self, request: SpawnRequest) -> AgentInfo:
        """Check the limits and arguments and choose the child's id, path and nickname; raises
        `AgentError` when it cannot be spawned. Nothing exists until `spawn`."""
        ...

    async def spawn(self, request: SpawnRequest, planned: AgentInfo) -> AgentInfo:
        """Create and load the planned child, and start its first turn (which begins once the
        caller next yields)."""
        ...

    async def resolve(self, target: str) -> AgentInfo:
        """The agent a target names (thread id, canonical path, or a path relative to this
        agent); raises `AgentError` when there is none."""
        ...

    async def send(self, target: AgentInfo, message: str, *, trigger_turn: bool) -> None:
        """Post a message (`trigger_turn`: a new task, which starts a turn if the agent is
        idle)."""
        ...

    async def send_input(
        self, target: AgentInfo, inputs: list[UserInput], *, interrupt: bool
    ) -> str:
        """v1: give the agent user input (steered into a running turn, else a new turn); the
        id of the turn that takes it."""
        ...

    async def interrupt(self, target: AgentInfo) -> None:
        """Interrupt the agent's running turn, if any."""
        ...

    async def close(self, target: AgentInfo) -> None:
        """v1: shut the agent (and its open descendants) down."""
        ...

    async def reopen(self, target: AgentInfo) -> AgentInfo:
        """v1: make a closed agent available again."""
        ...

    async def live_agents(self, path_prefix: str | None) -> list[AgentInfo]:
        """The agents of this session tree that are not shut down, by path."""
        ...

    async def wait_for_final(
        self, targets: list[AgentInfo], timeout_seconds: float
    ) -> list[AgentInfo]:
        """v1: wait until one of the targets is in a final state; the ones that are (empty on
        timeout)."""
        ...
