"""The shapes of codex *core* TurnItems: the `item` of a paginated `item_completed` event.

Core items are codex's own spelling of what clients see as `ThreadItem`s (STORAGE.md §3.4):
PascalCase `type`, snake_case fields, `file://` directories, `{secs, nanos}` durations. We write
the kinds below (`core_items` builds them); `item_mapping` reads these and every other kind
codex writes (`CoreItemType`) back into wire items. Static types only, as in `lines`.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from app_server.rollout.lines import JsonObject
from app_server.rollout.review_output import ReviewOutput

CoreItemType = Literal[
    "UserMessage",
    "AgentMessage",
    "Reasoning",
    "CommandExecution",
    "FileChange",
    "CollabAgentToolCall",
    "SubAgentActivity",
    "Extension",
    "Sleep",
    "WebSearch",
    "ImageView",
    "Plan",
    "ContextCompaction",
    "HookPrompt",
    "ImageGeneration",
    "McpToolCall",
    "DynamicToolCall",
    "EnteredReviewMode",
    "ExitedReviewMode",
]
"""Every core item kind the reader maps to a wire item (others are skipped)."""

SLEEP_EXTENSION_KIND: Literal["clock.sleep"] = "clock.sleep"
"""The `Extension` item kind that is the wire `sleep` item (0.169's spelling)."""


class Duration(TypedDict):
    """A Rust `Duration`."""

    secs: int
    nanos: int


class TextInput(TypedDict):
    type: Literal["text"]
    text: str
    text_elements: list[JsonObject]


class ImageInput(TypedDict):
    type: Literal["image"]
    image_url: NotRequired[str]
    file_id: NotRequired[str]


class LocalImageInput(TypedDict):
    type: Literal["local_image"]
    path: str


class NamedInput(TypedDict):
    type: Literal["skill", "mention"]
    name: str
    path: str


CoreUserInput = TextInput | ImageInput | LocalImageInput | NamedInput
"""One part of a user message, in the core (snake_case) spelling."""


class UserMessageItem(TypedDict):
    type: Literal["UserMessage"]
    id: str
    content: list[CoreUserInput]
    client_id: NotRequired[str]


class AgentText(TypedDict):
    type: Literal["Text"]
    text: str


class AgentMessageItem(TypedDict):
    type: Literal["AgentMessage"]
    id: str
    content: list[AgentText]
    phase: NotRequired[str]


class ReasoningItem(TypedDict):
    type: Literal["Reasoning"]
    id: str
    summary_text: list[str]
    raw_content: list[str]


class ContextCompactionItem(TypedDict):
    type: Literal["ContextCompaction"]
    id: str


class CommandExecutionItem(TypedDict):
    """`status`: `in_progress`, `completed`, `failed` or `declined`."""

    type: Literal["CommandExecution"]
    id: str
    process_id: str | None
    command: list[str]
    cwd: str
    parsed_cmd: list[JsonObject]
    source: str
    status: str
    aggregated_output: str
    exit_code: int | None
    duration: Duration | None


class WholeFileChange(TypedDict):
    """A file added (`content`: its text) or deleted (`content`: what it held)."""

    type: Literal["add", "delete"]
    content: str


class UpdateFileChange(TypedDict):
    type: Literal["update"]
    unified_diff: str
    move_path: str | None


CoreFileChange = WholeFileChange | UpdateFileChange


class FileChangeItem(TypedDict):
    """`changes`: each touched path and what happened to it."""

    type: Literal["FileChange"]
    id: str
    changes: dict[str, CoreFileChange]
    status: str
    stdout: str
    stderr: str


class ImageViewItem(TypedDict):
    type: Literal["ImageView"]
    id: str
    path: str


class SleepItem(TypedDict):
    """The sleep tool's item: an `Extension` of kind `clock.sleep`, camelCase as 0.169 writes."""

    type: Literal["Extension"]
    kind: Literal["clock.sleep"]
    id: str
    durationMs: int


class SubAgentActivityItem(TypedDict):
    """`kind`: `started`, `interacted`, `interrupted` or `completed`."""

    type: Literal["SubAgentActivity"]
    model: str | None
    reasoning_effort: str | None
    id: str
    kind: str
    agent_thread_id: str
    agent_path: str | None


class ReceiverAgent(TypedDict):
    thread_id: str
    agent_nickname: str | None


class CollabAgentToolCallItem(TypedDict):
    """A multi-agent tool call; v1 records the prompt, model and effort, v2's wait does not."""

    type: Literal["CollabAgentToolCall"]
    id: str
    tool: str
    status: str
    sender_thread_id: str
    receiver_thread_ids: list[str]
    receiver_agents: list[ReceiverAgent]
    prompt: NotRequired[str | None]
    model: NotRequired[str | None]
    reasoning_effort: NotRequired[str | None]
    agents_states: JsonObject


class McpResultValue(TypedDict):
    """An MCP `CallToolResult` as codex records it."""

    content: list[JsonObject]
    structuredContent: NotRequired[JsonObject | list[object] | str | int | float | bool]
    isError: bool


class McpErrorValue(TypedDict):
    message: str


class McpToolCallItem(TypedDict):
    type: Literal["McpToolCall"]
    id: str
    server: str
    tool: str
    arguments: object
    readOnlyHint: NotRequired[bool]
    status: Literal["in_progress", "completed", "failed"]
    result: NotRequired[McpResultValue]
    error: NotRequired[McpErrorValue]
    duration: NotRequired[Duration]


"""An MCP tool call (0.169 writes camelCase `readOnlyHint`/`structuredContent`/`isError`)."""


class EnteredReviewModeItem(TypedDict):
    """A review began (`review/start`): its target as the request gave it (wire spelling,
    `{"type": "commit", "sha": …}`) and the hint clients show."""

    type: Literal["EnteredReviewMode"]
    id: str
    target: JsonObject
    user_facing_hint: str


class ExitedReviewModeItem(TypedDict):
    """A review ended: the reviewer's parsed output (None: interrupted)."""

    type: Literal["ExitedReviewMode"]
    id: str
    review_output: ReviewOutput | None


CoreItem = (
    UserMessageItem
    | EnteredReviewModeItem
    | ExitedReviewModeItem
    | McpToolCallItem
    | AgentMessageItem
    | ReasoningItem
    | ContextCompactionItem
    | CommandExecutionItem
    | FileChangeItem
    | ImageViewItem
    | SleepItem
    | SubAgentActivityItem
    | CollabAgentToolCallItem
)
"""A core item as we write it."""
