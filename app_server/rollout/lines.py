"""The shapes of rollout lines (STORAGE.md §3): one `TypedDict` per line kind we write.

Why `TypedDict`s and not models: a line is a plain dict from its builder (`turn_lifecycle`,
`settings_lines`, `model_lines`, `item_events`, `thread_events`, `session_meta`) to
`orjson.dumps` in the writer, and from `orjson.loads` in the reader to the fold; typed dicts
check the writer side statically and cost nothing at run time (a validating model per line
would dominate the read of a 100 MB rollout). The reader does not trust them: a
file may come from codex, another version or a crash, so the fold takes `JsonObject`s and checks
every value it uses; what it shares with the writer is these names, kinds and shapes.

Envelope (added by the writer, `envelope.envelope`): `{"timestamp", "ordinal"?, "type",
"payload", <extras>…}`. Builders return `RolloutItem`s (type + payload); lines we do not model —
codex writes more kinds and fields than we do — travel as `StoredLine`s and are copied verbatim.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, NewType, NotRequired, TypedDict

if TYPE_CHECKING:  # `events` builds on the aliases below
    from app_server.rollout.events import EventPayload

JsonObject = Mapping[str, Any]
"""A JSON object whose shape the format does not fix (a Responses item, a sandbox policy) or
that was read from a file and not validated (every line the fold receives). Read-only: code that
builds a new object uses a `dict`.

The fold's hot paths test `isinstance(value, (dict, Mapping))`: every parsed line is a `dict`,
which that tuple matches exactly and at once, where `Mapping` alone goes through the ABC machinery
on each of the million checks a 100 MB rollout makes (issue 17); other mappings still pass."""

HistoryMode = Literal["legacy", "paginated"]
"""`session_meta.history_mode` (absent ⇒ legacy): paginated lines carry an `ordinal` and record
finished items as `item_completed` core items; legacy lines carry neither."""

LineType = Literal[
    "session_meta",
    "turn_context",
    "world_state",
    "response_item",
    "event_msg",
    "token_usage_record",
    "inter_agent_communication_metadata",
    "compacted",
]
"""Every line kind codex 0.169 writes (STORAGE.md §3.2); readers skip kinds they do not know."""

StoredLine = NewType("StoredLine", dict[str, Any])
"""A line as a rollout holds it: parsed, envelope included, not validated. What the reader
yields and what a legacy fork copies verbatim (kinds and fields we do not model included), so
codex's lines round-trip unchanged. Constructing one marks a line nobody built with a builder."""

TokenUsage = Mapping[str, int]
"""`{input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens}`."""


# -- session_meta -----------------------------------------------------------------------------


class ThreadSpawn(TypedDict):
    """`source.subagent.thread_spawn`: who spawned a sub-agent and where it sits in the tree."""

    parent_thread_id: str
    depth: int
    agent_path: str | None
    agent_nickname: str | None
    agent_role: str | None


class SpawnedBy(TypedDict):
    thread_spawn: ThreadSpawn


class SubagentSource(TypedDict):
    """`session_meta.source` of a spawned thread (lowercase `subagent` on disk)."""

    subagent: SpawnedBy


class HistoryBaseRef(TypedDict):
    """`session_meta.history_base` of a paginated fork: the base's lines `[0, end)`."""

    thread_id: str
    end_ordinal_exclusive: int
    end_byte_offset: int


class BaseInstructions(TypedDict):
    text: str


class ContextWindowRef(TypedDict):
    """`session_meta.context_window`: window 0 of the thread."""

    window_id: str


class SessionMetaPayload(TypedDict):
    """The first line of every rollout (STORAGE.md §3.3); key order is codex's."""

    account_scoped: bool
    session_id: str
    id: str
    timestamp: str
    cwd: str
    runtime_workspace_roots: list[str]
    originator: str | None
    cli_version: str
    source: str | SubagentSource
    model_provider: str
    history_mode: HistoryMode
    context_window: ContextWindowRef
    parent_thread_id: NotRequired[str]
    thread_source: NotRequired[str]
    agent_nickname: NotRequired[str | None]
    agent_path: NotRequired[str | None]
    agent_role: NotRequired[str]
    subagent_history_start_ordinal: NotRequired[int]
    multi_agent_version: NotRequired[str]
    base_instructions: NotRequired[BaseInstructions]
    forked_from_id: NotRequired[str]
    forked_from_ordinal_exclusive: NotRequired[int]
    history_base: NotRequired[HistoryBaseRef]
    git: NotRequired[GitMeta]


class GitMeta(TypedDict, total=False):
    """`session_meta.git` (codex's `GitInfo`): written when the cwd is inside a git repository,
    each key only when git answered it (`{}` in a repository without commits)."""

    commit_hash: str
    branch: str
    repository_url: str


class SessionMetaLine(TypedDict):
    type: Literal["session_meta"]
    payload: SessionMetaPayload


# -- turn_context -----------------------------------------------------------------------------

ApprovalPolicyValue = str | JsonObject
"""`approval_policy` on disk: the kebab-case name, or a granular policy object."""


class CollaborationSettings(TypedDict):
    model: str
    reasoning_effort: str | None
    developer_instructions: str | None


class CollaborationMode(TypedDict):
    mode: Literal["default", "plan"]
    settings: CollaborationSettings


class TurnContextPayload(TypedDict):
    """The settings one turn ran with, written at its start."""

    turn_id: str
    root_turn_id: str
    disabled_plugin_ids: list[str]
    cwd: str
    approval_policy: ApprovalPolicyValue
    approvals_reviewer: str
    model: str
    collaboration_mode: CollaborationMode
    realtime_active: bool
    summary: str
    sandbox_policy: JsonObject


class TurnContextLine(TypedDict):
    type: Literal["turn_context"]
    payload: TurnContextPayload


# -- world_state ------------------------------------------------------------------------------


class WorldStatePayload(TypedDict):
    """A full snapshot (`full: true`) or an RFC 7386 merge patch of the last one."""

    full: bool
    state: JsonObject


class WorldStateLine(TypedDict):
    type: Literal["world_state"]
    payload: WorldStatePayload


# -- response_item ----------------------------------------------------------------------------


class ResponseItemLine(TypedDict):
    """A model-visible history item: the Responses API item as sent, plus codex's
    `internal_chat_message_metadata_passthrough` (`{turn_id}`) that the model never sees."""

    type: Literal["response_item"]
    payload: JsonObject


# -- event_msg --------------------------------------------------------------------------------


class EventLine(TypedDict):
    type: Literal["event_msg"]
    payload: EventPayload


# -- token_usage_record -----------------------------------------------------------------------


class TokenUsageRecordPayload(TypedDict):
    """Written after every model response."""

    thread_id: str
    turn_id: str
    session_id: str
    root_turn_id: str
    response_id: str | None
    usage: TokenUsage
    turn_token_usage: TokenUsage
    thread_token_usage: TokenUsage


class TokenUsageRecordLine(TypedDict):
    type: Literal["token_usage_record"]
    payload: TokenUsageRecordPayload


# -- inter_agent_communication_metadata -------------------------------------------------------


class InterAgentMetadataPayload(TypedDict):
    """Written just before an inter-agent message: whether it started the recipient's turn."""

    trigger_turn: bool


class InterAgentMetadataLine(TypedDict):
    type: Literal["inter_agent_communication_metadata"]
    payload: InterAgentMetadataPayload


# -- compacted --------------------------------------------------------------------------------


class WindowLineage(TypedDict):
    """The context window a `compacted` line starts (`context_windows.ContextWindow`)."""

    window_number: int
    first_window_id: str
    previous_window_id: str | None
    window_id: str


class CompactedPayload(TypedDict):
    """A compaction: its summary, the history that replaces everything before the line, and
    the context window it starts (`context_windows.ContextWindow`)."""

    message: str
    replacement_history: list[JsonObject]
    window_number: int
    first_window_id: str
    previous_window_id: str | None
    window_id: str
    compaction_response_id: NotRequired[str]


class CompactedLine(TypedDict):
    type: Literal["compacted"]
    payload: CompactedPayload


RolloutItem = (
    SessionMetaLine
    | TurnContextLine
    | WorldStateLine
    | ResponseItemLine
    | EventLine
    | TokenUsageRecordLine
    | InterAgentMetadataLine
    | CompactedLine
)
"""A line as a builder makes it (no envelope): what the agent and thread manager append."""

RolloutLine = RolloutItem | StoredLine
"""What a `ThreadWriter` appends: a built line, or a stored one copied verbatim."""
