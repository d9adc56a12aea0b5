"""Builders of codex *core* TurnItems (`items`) and of the legacy events that stand for them.

Rollouts store each finished item as a core TurnItem (`event_msg item_completed`, PascalCase
`type`, snake_case fields; STORAGE.md §3.4), which `item_mapping` reads back; tools build their
items here, and the wire item they stream is derived from the same dict by that reader, so what
a client sees live is what `thread/read` returns after a restart. A legacy thread records a
tool's item as an older event instead (`legacy_*`). These functions are the writing direction
of those mappings; round-trip tests keep the two sides in step.
"""

from __future__ import annotations

from pathlib import Path

from app_server.rollout.events import (
    ExecCommandEndEvent,
    McpToolCallEndEvent,
    PatchApplyEndEvent,
    ViewImageToolCallEvent,
)
from app_server.rollout.items import (
    SLEEP_EXTENSION_KIND,
    AgentMessageItem,
    CollabAgentToolCallItem,
    CommandExecutionItem,
    ContextCompactionItem,
    CoreFileChange,
    CoreUserInput,
    Duration,
    FileChangeItem,
    ImageInput,
    ImageViewItem,
    McpErrorValue,
    McpResultValue,
    McpToolCallItem,
    ReasoningItem,
    ReceiverAgent,
    SleepItem,
    SubAgentActivityItem,
    UserMessageItem,
)
from app_server.rollout.lines import JsonObject
from protocol.types import (
    AgentMessageThreadItem,
    AudioUserInput,
    ImageUserInput,
    LocalAudioUserInput,
    LocalImageUserInput,
    MentionUserInput,
    ReasoningThreadItem,
    SkillUserInput,
    TextUserInput,
    UserInput,
    UserMessageThreadItem,
)

# -- messages (from the wire items the turn streamed) ---------------------------------------------


def core_user_input(value: UserInput) -> CoreUserInput | None:
    """One wire `UserInput` in its core (rollout) spelling."""
    if isinstance(value, TextUserInput):
        elements: list[JsonObject] = [
            e.model_dump(mode="json", by_alias=True) for e in value.text_elements
        ]
        return {"type": "text", "text": value.text, "text_elements": elements}
    if isinstance(value, ImageUserInput):
        image: ImageInput = {"type": "image"}
        if value.url is not None:
            image["image_url"] = value.url
        if value.file_id is not None:
            image["file_id"] = value.file_id
        return image
    if isinstance(value, LocalImageUserInput):
        return {"type": "local_image", "path": value.path}
    if isinstance(value, SkillUserInput):
        return {"type": "skill", "name": value.name, "path": value.path}
    if isinstance(value, MentionUserInput):
        return {"type": "mention", "name": value.name, "path": value.path}
    if isinstance(value, AudioUserInput | LocalAudioUserInput):
        return None  # not sent to the model by this server (no audio support)
    return None


def core_user_message(item: UserMessageThreadItem) -> UserMessageItem:
    content = [c for c in (core_user_input(v) for v in item.content) if c is not None]
    core: UserMessageItem = {"type": "UserMessage", "id": item.id, "content": content}
    if item.client_id is not None:
        core["client_id"] = item.client_id
    return core


def core_agent_message(item: AgentMessageThreadItem) -> AgentMessageItem:
    core: AgentMessageItem = {
        "type": "AgentMessage",
        "id": item.id,
        "content": [{"type": "Text", "text": item.text}],
    }
    if item.phase is not None:
        core["phase"] = item.phase
    return core


def core_reasoning(item: ReasoningThreadItem) -> ReasoningItem:
    return {
        "type": "Reasoning",
        "id": item.id,
        "summary_text": list(item.summary),
        "raw_content": list(item.content),
    }


def context_compaction(item_id: str) -> ContextCompactionItem:
    return {"type": "ContextCompaction", "id": item_id}


# -- tool items -----------------------------------------------------------------------------------


def file_uri(path: str) -> str:
    """Core items spell directories as `file://` URIs."""
    return Path(path).as_uri() if path.startswith("/") else path


def duration(seconds: float) -> Duration:
    """A core `Duration`."""
    secs = int(seconds)
    return {"secs": secs, "nanos": round((seconds - secs) * 1e9)}


def command_execution(
    call_id: str,
    *,
    argv: list[str],
    cwd: str,
    parsed_cmd: list[JsonObject],
    source: str,
    status: str,
    process_id: str | None = None,
    aggregated_output: str = "",
    exit_code: int | None = None,
    duration_seconds: float | None = None,
) -> CommandExecutionItem:
    """Core `CommandExecution` (status: `in_progress`, `completed`, `failed`, `declined`)."""
    return {
        "type": "CommandExecution",
        "id": call_id,
        "process_id": process_id,
        "command": argv,
        "cwd": file_uri(cwd),
        "parsed_cmd": parsed_cmd,
        "source": source,
        "status": status,
        "aggregated_output": aggregated_output,
        "exit_code": exit_code,
        "duration": duration(duration_seconds) if duration_seconds is not None else None,
    }


def file_change_entry(kind: str, diff: str, move_path: str | None) -> CoreFileChange:
    """What happened to one path of a patch (`kind`: `add`, `delete` or `update`)."""
    if kind == "update":
        return {"type": "update", "unified_diff": diff, "move_path": move_path}
    return {"type": "delete" if kind == "delete" else "add", "content": diff}


def file_change(
    call_id: str,
    changes: dict[str, CoreFileChange],
    status: str,
    stdout: str = "",
    stderr: str = "",
) -> FileChangeItem:
    """Core `FileChange` (status: `in_progress`, `completed`, `failed`, `declined`)."""
    return {
        "type": "FileChange",
        "id": call_id,
        "changes": changes,
        "status": status,
        "stdout": stdout,
        "stderr": stderr,
    }


def image_view(call_id: str, path: str) -> ImageViewItem:
    return {"type": "ImageView", "id": call_id, "path": path}


def sleep(call_id: str, duration_ms: int) -> SleepItem:
    """Core sleep item: an `Extension` of kind `clock.sleep`, as 0.169 writes it."""
    return {
        "type": "Extension",
        "kind": SLEEP_EXTENSION_KIND,
        "id": call_id,
        "durationMs": duration_ms,
    }


# -- sub-agents -----------------------------------------------------------------------------------


def sub_agent_activity(
    item_id: str,
    kind: str,
    *,
    agent_thread_id: str,
    agent_path: str | None,
    model: str | None = None,
    reasoning_effort: str | None = None,
) -> SubAgentActivityItem:
    """Core `SubAgentActivity` (kind: `started`, `interacted`, `interrupted`, `completed`)."""
    return {
        "type": "SubAgentActivity",
        "model": model,
        "reasoning_effort": reasoning_effort,
        "id": item_id,
        "kind": kind,
        "agent_thread_id": agent_thread_id,
        "agent_path": agent_path,
    }


def collab_wait(call_id: str, sender_thread_id: str, status: str) -> CollabAgentToolCallItem:
    """The core `CollabAgentToolCall` of a v2 `wait_agent` (no receivers in v2)."""
    return {
        "type": "CollabAgentToolCall",
        "id": call_id,
        "tool": "wait",
        "status": status,
        "sender_thread_id": sender_thread_id,
        "receiver_thread_ids": [],
        "receiver_agents": [],
        "agents_states": {},
    }


def collab_agent_tool_call(
    call_id: str,
    tool: str,
    status: str,
    *,
    sender_thread_id: str,
    receivers: list[ReceiverAgent],
    prompt: str | None,
    model: str | None,
    reasoning_effort: str | None,
    agents_states: JsonObject,
) -> CollabAgentToolCallItem:
    """A v1 multi-agent tool call (`spawn_agent`, `send_input`, …) as a core item."""
    return {
        "type": "CollabAgentToolCall",
        "id": call_id,
        "tool": tool,
        "status": status,
        "sender_thread_id": sender_thread_id,
        "receiver_thread_ids": [r["thread_id"] for r in receivers],
        "receiver_agents": receivers,
        "prompt": prompt,
        "model": model,
        "reasoning_effort": reasoning_effort,
        "agents_states": agents_states,
    }


# -- what a legacy thread records instead ---------------------------------------------------------


def legacy_exec_end(
    core: CommandExecutionItem, stdout: str, formatted_output: str
) -> ExecCommandEndEvent:
    """The `exec_command_end` event a legacy-mode thread records for a command."""
    return {
        "type": "exec_command_end",
        "call_id": core["id"],
        "process_id": core.get("process_id"),
        "command": core["command"],
        "cwd": core["cwd"],
        "parsed_cmd": core["parsed_cmd"],
        "source": core["source"],
        "stdout": stdout,
        "stderr": "",
        "aggregated_output": core.get("aggregated_output") or "",
        "exit_code": core.get("exit_code"),
        "duration": core.get("duration"),
        "formatted_output": formatted_output,
        "status": core["status"],
    }


def legacy_patch_end(core: FileChangeItem) -> PatchApplyEndEvent:
    """The `patch_apply_end` event a legacy-mode thread records for a patch."""
    return {
        "type": "patch_apply_end",
        "call_id": core["id"],
        "stdout": core["stdout"],
        "stderr": core["stderr"],
        "success": core["status"] == "completed",
        "changes": core["changes"],
        "status": core["status"],
    }


def legacy_view_image(call_id: str, path: str) -> ViewImageToolCallEvent:
    """The `view_image_tool_call` event a legacy-mode thread records for an image view."""
    return {"type": "view_image_tool_call", "call_id": call_id, "path": path}


def mcp_tool_call(
    call_id: str,
    server: str,
    tool: str,
    arguments: object,
    read_only: bool,
    *,
    result: McpResultValue | None = None,
    error: str | None = None,
    seconds: float | None = None,
) -> McpToolCallItem:
    """The core `McpToolCall` item: in progress (no result, error nor duration) or finished."""
    item: McpToolCallItem
    if read_only:  # codex writes it before `status`
        item = {
            "type": "McpToolCall",
            "id": call_id,
            "server": server,
            "tool": tool,
            "arguments": arguments,
            "readOnlyHint": True,
            "status": "in_progress",
        }
    else:
        item = {
            "type": "McpToolCall",
            "id": call_id,
            "server": server,
            "tool": tool,
            "arguments": arguments,
            "status": "in_progress",
        }
    if seconds is None:
        return item
    if error is not None:
        item["status"] = "failed"
        failure: McpErrorValue = {"message": error}
        item["error"] = failure
    elif result is not None:
        item["status"] = "failed" if result["isError"] else "completed"
        item["result"] = result
    item["duration"] = duration(seconds)
    return item


def legacy_mcp_tool_call(item: McpToolCallItem) -> McpToolCallEndEvent:
    """The `mcp_tool_call_end` event a legacy-mode thread records for a finished MCP call."""
    error = item.get("error")
    result: dict[str, object] = (
        {"Err": error["message"]} if error is not None else {"Ok": item.get("result") or {}}
    )
    return {
        "type": "mcp_tool_call_end",
        "call_id": item["id"],
        "invocation": {
            "server": item["server"],
            "tool": item["tool"],
            "arguments": item["arguments"],
        },
        "duration": item.get("duration") or duration(0.0),
        "result": result,
    }
