"""Persisted core TurnItems (`event_msg item_completed`) → wire `ThreadItem`s.

Paginated threads persist each finished item as a *core* TurnItem: PascalCase `type`, snake_case
fields (`UserMessage`, `AgentMessage`, `Reasoning`, `CommandExecution`, `FileChange`,
`CollabAgentToolCall`, `SubAgentActivity`, `Extension` (sleep), …). The conversions mirror codex
0.169's `From<TurnItem> for ThreadItem` and its item builders: the display command is the
shell-quoted argv, `file://` cwds become paths, read actions are resolved against the cwd, file
changes are sorted by path, durations become whole milliseconds. An unknown or malformed item
maps to `None` (and is skipped by the caller), so unknown data never breaks a read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from app_server.rollout.items import SLEEP_EXTENSION_KIND, CoreItemType
from app_server.rollout.lines import JsonObject
from app_server.rollout.review_output import (
    REVIEW_FALLBACK_MESSAGE,
    render_review_text,
    stored_review_output,
)
from app_server.rollout.wire_values import (
    collab_agent_state,
    command_actions,
    command_source,
    duration_to_ms,
    file_changes,
    item_timestamps,
    mcp_error,
    mcp_result,
    memory_citation,
    path_from_uri,
    shell_join,
    snake_to_camel,
    user_inputs_from_core,
    web_search_action,
    wire_status,
)
from protocol.types import ThreadItem
from protocol.wire_model import DEFERRED

logger = logging.getLogger(__name__)


def thread_item_from_core(
    item: JsonObject, *, started_at_ms: Any = None, completed_at_ms: Any = None
) -> ThreadItem | None:
    """The wire item for a persisted core TurnItem, or `None` when it is unknown/malformed."""
    kind = item.get("type")
    entry = _CORE_BUILDERS.get(kind) if isinstance(kind, str) else None
    if entry is None:
        logger.debug("skipping core item of unknown type %r", kind)
        return None
    builder, wire_type = entry
    try:
        data = builder(item)
        if data is None:
            return None
        data.update(item_timestamps(started_at_ms, completed_at_ms))
        data["type"] = wire_type
        result = THREAD_ITEM.validate_python(data)
    except (ValidationError, KeyError, TypeError, ValueError) as error:
        logger.warning("skipping malformed %s item %r: %s", kind, item.get("id"), error)
        return None
    return result


def core_builder(kind: CoreItemType) -> _CoreBuilder:
    """The function that maps a core item of this kind to its wire model's data (the input of
    `thread_item_from_core`'s validation, before the timestamps and the wire type are added)."""
    return _TYPED_CORE_BUILDERS[kind][0]


def _core_user_message(item: JsonObject) -> dict[str, Any]:
    return {
        "id": item["id"],
        "client_id": item.get("client_id"),
        "content": user_inputs_from_core(item.get("content")),
    }


def _core_agent_message(item: JsonObject) -> dict[str, Any]:
    text = "".join(
        str(entry.get("text", ""))
        for entry in item.get("content") or []
        if isinstance(entry, (dict, Mapping)) and entry.get("type") in {"Text", "text"}
    )
    return {
        "id": item["id"],
        "text": text,
        "phase": item.get("phase"),
        "memory_citation": memory_citation(item.get("memory_citation")),
    }


def _core_reasoning(item: JsonObject) -> dict[str, Any]:
    return {
        "id": item["id"],
        "summary": list(item.get("summary_text") or []),
        "content": list(item.get("raw_content") or []),
    }


def _core_command_execution(item: JsonObject) -> dict[str, Any]:
    cwd = path_from_uri(str(item.get("cwd") or ""))
    command = item.get("command")
    output = item.get("aggregated_output")
    return {
        "id": item["id"],
        "command": shell_join([str(a) for a in command]) if isinstance(command, list) else command,
        "cwd": cwd,
        "process_id": item.get("process_id"),
        "source": command_source(item.get("source")),
        "status": wire_status(item.get("status"), "inProgress"),
        "command_actions": command_actions(item.get("parsed_cmd"), cwd),
        "aggregated_output": output if output else None,
        "exit_code": item.get("exit_code"),
        "duration_ms": duration_to_ms(item.get("duration")),
        "plugin_id": item.get("plugin_id"),
        "script_path": item.get("script_path"),
    }


def _core_file_change(item: JsonObject) -> dict[str, Any]:
    return {
        "id": item["id"],
        "changes": file_changes(item.get("changes")),
        "status": wire_status(item.get("status"), "inProgress"),
    }


def _core_collab_agent_tool_call(item: JsonObject) -> dict[str, Any]:
    states: dict[str, Any] = {}
    raw_states = item.get("agents_states")
    if isinstance(raw_states, (dict, Mapping)):
        for thread_id, state in raw_states.items():
            converted = collab_agent_state(state)
            if converted is not None:
                states[str(thread_id)] = converted
    tool = item.get("tool")
    return {
        "id": item["id"],
        "tool": "wait" if tool == "wait_agent" else snake_to_camel(str(tool)),
        "status": wire_status(item.get("status"), "inProgress"),
        "sender_thread_id": item.get("sender_thread_id"),
        "receiver_thread_ids": list(item.get("receiver_thread_ids") or []),
        "prompt": item.get("prompt"),
        "model": item.get("model"),
        "reasoning_effort": item.get("reasoning_effort"),
        "agents_states": states,
    }


def _core_sub_agent_activity(item: JsonObject) -> dict[str, Any]:
    return {
        "id": item["id"],
        "kind": wire_status(item.get("kind"), "started"),
        "agent_thread_id": item.get("agent_thread_id"),
        "agent_path": item.get("agent_path"),
        "model": item.get("model"),
        "reasoning_effort": item.get("reasoning_effort"),
    }


def _core_extension(item: JsonObject) -> dict[str, Any] | None:
    if item.get("kind") != SLEEP_EXTENSION_KIND:
        logger.debug("skipping extension item of kind %r", item.get("kind"))
        return None
    return {"id": item["id"], "duration_ms": item.get("durationMs", item.get("duration_ms"))}


def _core_sleep(item: JsonObject) -> dict[str, Any]:
    return {"id": item["id"], "duration_ms": item.get("duration_ms", item.get("durationMs"))}


def _core_web_search(item: JsonObject) -> dict[str, Any]:
    return {
        "id": item["id"],
        "query": item.get("query", ""),
        "action": web_search_action(item.get("action")),
    }


def _core_image_view(item: JsonObject) -> dict[str, Any]:
    return {"id": item["id"], "path": path_from_uri(str(item.get("path", "")))}


def _core_plan(item: JsonObject) -> dict[str, Any] | None:
    text = item.get("text")
    if not text:
        return None
    return {"id": item["id"], "text": text}


def _core_context_compaction(item: JsonObject) -> dict[str, Any]:
    return {"id": item["id"]}


def _core_hook_prompt(item: JsonObject) -> dict[str, Any]:
    return {"id": item["id"], "fragments": list(item.get("fragments") or [])}


def _core_image_generation(item: JsonObject) -> dict[str, Any]:
    return {
        "id": item["id"],
        "status": item.get("status", ""),
        "revised_prompt": item.get("revised_prompt"),
        "saved_path": item.get("saved_path"),
    }


def _core_mcp_tool_call(item: JsonObject) -> dict[str, Any]:
    result = item.get("result")
    error = item.get("error")
    return {
        "id": item["id"],
        "server": item.get("server"),
        "tool": item.get("tool"),
        "status": wire_status(item.get("status"), "inProgress"),
        "arguments": item.get("arguments"),
        "result": mcp_result(result),
        "error": {"message": error} if isinstance(error, str) else mcp_error(error),
        "duration_ms": duration_to_ms(item.get("duration")),
        "plugin_id": item.get("plugin_id"),
        "read_only_hint": item.get("readOnlyHint", item.get("read_only_hint")),
        "mcp_app_resource_uri": item.get("mcp_app_resource_uri"),
    }


def _core_dynamic_tool_call(item: JsonObject) -> dict[str, Any]:
    return {
        "id": item["id"],
        "tool": item.get("tool"),
        "namespace": item.get("namespace"),
        "arguments": item.get("arguments"),
        "status": wire_status(item.get("status"), "inProgress"),
        "content_items": item.get("content_items"),
        "success": item.get("success"),
        "duration_ms": duration_to_ms(item.get("duration")),
    }


def _core_entered_review(item: JsonObject) -> dict[str, Any]:
    hint = item.get("user_facing_hint")
    return {"id": item["id"], "review": hint if isinstance(hint, str) else ""}


def _core_exited_review(item: JsonObject) -> dict[str, Any]:
    output = stored_review_output(item.get("review_output"))
    review = render_review_text(output) if output is not None else REVIEW_FALLBACK_MESSAGE
    return {"id": item["id"], "review": review}


_CoreBuilder = Callable[[JsonObject], "dict[str, Any] | None"]
_TYPED_CORE_BUILDERS: dict[CoreItemType, tuple[_CoreBuilder, str]] = {
    "UserMessage": (_core_user_message, "userMessage"),
    "AgentMessage": (_core_agent_message, "agentMessage"),
    "Reasoning": (_core_reasoning, "reasoning"),
    "CommandExecution": (_core_command_execution, "commandExecution"),
    "FileChange": (_core_file_change, "fileChange"),
    "CollabAgentToolCall": (_core_collab_agent_tool_call, "collabAgentToolCall"),
    "SubAgentActivity": (_core_sub_agent_activity, "subAgentActivity"),
    "Extension": (_core_extension, "sleep"),
    "Sleep": (_core_sleep, "sleep"),
    "WebSearch": (_core_web_search, "webSearch"),
    "ImageView": (_core_image_view, "imageView"),
    "Plan": (_core_plan, "plan"),
    "ContextCompaction": (_core_context_compaction, "contextCompaction"),
    "HookPrompt": (_core_hook_prompt, "hookPrompt"),
    "ImageGeneration": (_core_image_generation, "imageGeneration"),
    "McpToolCall": (_core_mcp_tool_call, "mcpToolCall"),
    "DynamicToolCall": (_core_dynamic_tool_call, "dynamicToolCall"),
    "EnteredReviewMode": (_core_entered_review, "enteredReviewMode"),
    "ExitedReviewMode": (_core_exited_review, "exitedReviewMode"),
}
_CORE_BUILDERS: dict[str, tuple[_CoreBuilder, str]] = {
    k: v for k, v in _TYPED_CORE_BUILDERS.items()
}
"""Looked up by any string read from a file; keyed by the kinds the format knows."""
THREAD_ITEM: TypeAdapter[ThreadItem] = TypeAdapter(ThreadItem, config=DEFERRED)
"""The `ThreadItem` union's validator and serializer, built on first use (~10 ms)."""
