"""The shapes of `event_msg` payloads (STORAGE.md §3.4), internally tagged by `type`.

`EventType` names every event the format knows: those we write (typed below) and the older or
codex-only ones the reader still rebuilds history from. Static types only, as in `lines`.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from app_server.rollout.items import CoreFileChange, CoreItem, Duration
from app_server.rollout.lines import (
    ApprovalPolicyValue,
    CollaborationMode,
    JsonObject,
    TokenUsage,
)

EventType = Literal[
    # written by us (and codex)
    "task_started",
    "task_complete",
    "turn_aborted",
    "item_completed",
    "token_count",
    "thread_settings_applied",
    "thread_goal_updated",
    "user_message",
    "agent_message",
    "agent_reasoning",
    "context_compacted",
    "exec_command_end",
    "patch_apply_end",
    "view_image_tool_call",
    # read only: written by codex or its older versions
    "agent_reasoning_raw_content",
    "error",
    "thread_rolled_back",
    "exec_command_begin",
    "patch_apply_begin",
    "web_search_begin",
    "web_search_end",
    "mcp_tool_call_begin",
    "mcp_tool_call_end",
    "entered_review_mode",
    "exited_review_mode",
]


class TurnAttribution(TypedDict):
    """Why a turn started; a sub-agent's turn names the parent turn and agent behind it."""

    turn_id: str
    turn_trigger: None
    parent_turn_id: str | None
    initiating_agent_path: str | None
    root_turn_id: str


class TaskStartedEvent(TypedDict):
    type: Literal["task_started"]
    turn_attribution: TurnAttribution
    turn_id: str
    root_turn_id: str
    started_at: int
    model_context_window: int | None
    collaboration_mode_kind: Literal["default"]


class TurnErrorRecord(TypedDict):
    """`task_complete.error` of a failed turn; `codex_error_info` in its disk (snake_case)
    form."""

    message: str
    codex_error_info: Any
    additional_details: str | None


class TaskCompleteEvent(TypedDict):
    type: Literal["task_complete"]
    root_turn_id: str
    turn_id: str
    last_agent_message: str | None
    started_at: int
    completed_at: int
    duration_ms: int
    error: NotRequired[TurnErrorRecord]


class TurnAbortedEvent(TypedDict):
    type: Literal["turn_aborted"]
    turn_id: str
    root_turn_id: str
    reason: Literal["interrupted", "replaced"]
    started_at: int
    completed_at: int
    duration_ms: int


class ItemCompletedEvent(TypedDict):
    """A finished item of a paginated thread."""

    type: Literal["item_completed"]
    thread_id: str
    turn_id: str
    item: CoreItem
    started_at_ms: int
    completed_at_ms: int


class TokenCountInfo(TypedDict):
    total_token_usage: TokenUsage
    last_token_usage: TokenUsage
    last_usage_includes_reasoning: bool
    model_context_window: int | None


class TokenCountEvent(TypedDict):
    type: Literal["token_count"]
    info: TokenCountInfo
    rate_limits: None


class DiskThreadSettings(TypedDict):
    """`thread_settings_applied.thread_settings` (snake_case, as on disk)."""

    model: str
    model_provider_id: str
    approval_policy: ApprovalPolicyValue
    approvals_reviewer: str
    requested_approvals_reviewer: str
    cwd: str
    runtime_workspace_roots: list[str]
    reasoning_effort: NotRequired[str]
    """Only when the thread has an effort set."""
    personality: NotRequired[str]
    """Only when `thread/settings/update` saved one."""
    collaboration_mode: CollaborationMode
    disabled_plugin_ids: list[str]


class ThreadSettingsAppliedEvent(TypedDict):
    type: Literal["thread_settings_applied"]
    thread_id: str
    thread_settings: DiskThreadSettings


class ThreadGoalUpdatedEvent(TypedDict):
    """A goal set or changed (never a clear: codex 0.169 records none). Unlike the other
    events its keys are camelCase, and `goal` is the wire `ThreadGoal` without null fields."""

    type: Literal["thread_goal_updated"]
    threadId: str
    goal: JsonObject


class UserMessageEvent(TypedDict):
    """Legacy threads: a user message (image URLs and local paths rebuild its images)."""

    type: Literal["user_message"]
    message: str
    images: list[str]
    local_images: list[str]
    audio: list[str]
    local_audio: list[str]
    text_elements: list[JsonObject]


class AgentMessageEvent(TypedDict):
    type: Literal["agent_message"]
    message: str
    phase: str | None
    memory_citation: None


class AgentReasoningEvent(TypedDict):
    type: Literal["agent_reasoning"]
    text: str


class ContextCompactedEvent(TypedDict):
    type: Literal["context_compacted"]


class ThreadRolledBackEvent(TypedDict):
    """`thread/revert`: the last `num_turns` turns leave the history (codex's record)."""

    type: Literal["thread_rolled_back"]
    num_turns: int


class ExecCommandEndEvent(TypedDict):
    """Legacy threads: a command's end (its core `CommandExecution`, flattened)."""

    type: Literal["exec_command_end"]
    call_id: str
    process_id: str | None
    command: list[str]
    cwd: str
    parsed_cmd: list[JsonObject]
    source: str
    stdout: str
    stderr: str
    aggregated_output: str
    exit_code: int | None
    duration: Duration | None
    formatted_output: str
    status: str


class PatchApplyEndEvent(TypedDict):
    """Legacy threads: a patch's end (its core `FileChange`, flattened)."""

    type: Literal["patch_apply_end"]
    call_id: str
    stdout: str
    stderr: str
    success: bool
    changes: dict[str, CoreFileChange]
    status: str


class ViewImageToolCallEvent(TypedDict):
    type: Literal["view_image_tool_call"]
    call_id: str
    path: str


class McpInvocation(TypedDict):
    server: str
    tool: str
    arguments: object


class McpToolCallEndEvent(TypedDict):
    """Codex's legacy MCP event: `result` is `{"Ok": CallToolResult}` or `{"Err": text}`."""

    type: Literal["mcp_tool_call_end"]
    call_id: str
    invocation: McpInvocation
    duration: Duration
    result: dict[str, object]


class EnteredReviewModeEvent(TypedDict):
    """Legacy threads: a review began (codex's `entered_review_mode`, its `ReviewRequest`)."""

    type: Literal["entered_review_mode"]
    target: dict[str, object]
    user_facing_hint: str


class ExitedReviewModeEvent(TypedDict):
    """Legacy threads: a review ended (`review_output` None when interrupted)."""

    type: Literal["exited_review_mode"]
    review_output: object


LegacyToolEvent = (
    ExecCommandEndEvent
    | PatchApplyEndEvent
    | ViewImageToolCallEvent
    | McpToolCallEndEvent
    | EnteredReviewModeEvent
    | ExitedReviewModeEvent
)
"""What a legacy thread records for a tool's item instead of `item_completed`."""

EventPayload = (
    TaskStartedEvent
    | TaskCompleteEvent
    | TurnAbortedEvent
    | ItemCompletedEvent
    | TokenCountEvent
    | ThreadSettingsAppliedEvent
    | ThreadGoalUpdatedEvent
    | UserMessageEvent
    | AgentMessageEvent
    | AgentReasoningEvent
    | ContextCompactedEvent
    | ThreadRolledBackEvent
    | LegacyToolEvent
)
"""An `event_msg` payload as we write it."""
