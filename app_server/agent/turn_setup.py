"""What a turn starts from, and what it needs from its thread (the agent's side of the seam)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from msgspec import Struct

from app_server.agent.inter_agent import InterAgentMessage, Mailbox
from app_server.agent.providers.base import ModelProvider
from app_server.agent.token_usage import TokenTotals
from app_server.agent.tools.agent_control import AgentControl
from app_server.agent.tools.registry import ToolHost, ToolRegistry
from app_server.agent.tools.workspace import ThreadWorkspace
from app_server.config.defaults import DEFAULT_MAX_SAMPLING_STEPS
from app_server.rollout.model_history import ModelHistory
from app_server.settings import ResolvedSettings
from app_server.skills import SkillListing
from app_server.store.interface import ThreadWriter
from protocol.types import TurnError, UserInput


class TurnHost(ToolHost, Protocol):
    """What a turn needs from the thread it runs in (the thread layer implements it): its
    tools' needs (notifications, status, approvals) and its id."""

    @property
    def thread_id(self) -> str: ...

    def response_headers_seen(self, headers: Mapping[str, str]) -> None:
        """A model response arrived with these (lower-case) headers (rate limits live there)."""
        ...

    def response_completed(self) -> None:
        """A model response completed (after its token usage went out): the thread tells its
        clients the latest rate limits, as codex 0.169 does after every response."""
        ...

    async def turn_result_ready(self, turn_id: str) -> None:
        """A turn completed with a result for the user (before the thread goes idle): the
        thread records it as unread and says so (`thread/readState/changed`)."""
        ...


class TurnSetup(Struct):
    """Everything one turn starts from."""

    turn_id: str
    root_turn_id: str
    settings: ResolvedSettings
    history_mode: str
    writer: ThreadWriter | None
    history: ModelHistory
    """The thread's model-visible history, window and world state; the turn updates it in
    place (a compaction replaces the items inside the same list)."""
    tokens: TokenTotals
    tools: ToolRegistry
    workspace: ThreadWorkspace
    """The thread's tool state (session approvals, background processes, sandbox)."""
    provider: Callable[[], ModelProvider]
    """Returns the provider; raises `ProviderError` (e.g. missing credentials) to fail the turn."""
    originator: str
    instructions: str
    """The system prompt (`instructions`): what the thread's session_meta recorded."""
    first_turn: bool
    context_window: int | None
    auto_compact_limit: int | None = None
    """Compact before sampling once the latest response used this many tokens (None: never)."""
    output_schema: Any = None
    max_steps: int = DEFAULT_MAX_SAMPLING_STEPS
    agents: AgentControl | None = None
    """The thread's sub-agent operations (None: the thread offers no multi-agent tools)."""
    mailbox: Mailbox | None = None
    """Inter-agent messages for the thread; the turn records them at its sampling boundaries."""
    parent_turn_id: str | None = None
    """For a sub-agent's turn: the parent's turn that caused it (recorded in `task_started`)."""
    initiating_agent_path: str | None = None
    skills_instructions: str | None = None
    """What the model is told about the skills its cwd sees (None: no skills), in the initial
    context of a first turn or a compaction."""
    skills: SkillListing | None = None
    """The skills the thread's cwd sees (with their `enabled`), for `$skill` mentions and skill
    input items (`app_server.skill_mentions`)."""
    history_initialization: str = "new"
    """See `RequestContext.history_initialization`."""
    subagent_kind: str | None = None
    """See `RequestContext.subagent_kind` (`review` for a review's reviewer)."""

    @property
    def model_history(self) -> list[dict[str, Any]]:
        """The model-visible items (what the next request sends)."""
        return self.history.items


class PendingInput(Struct):
    """Input waiting to join the turn: a user's, or (starting a sub-agent's turn) a message from
    another agent."""

    inputs: list[UserInput]
    client_id: str | None = None
    message: InterAgentMessage | None = None
    """Set instead of `inputs` for a task or message from another agent."""


class TurnFailed(Exception):
    """The turn ends `failed` with this error."""

    def __init__(self, error: TurnError) -> None:
        super().__init__(error.message)
        self.error = error
