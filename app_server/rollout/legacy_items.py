"""Legacy rollout events → wire `ThreadItem`s (legacy history reconstruction).

Legacy threads (and older codex versions) persist UI events instead of items: `user_message`,
`agent_message`, `exec_command_end`, `patch_apply_end`, `web_search_end`, `mcp_tool_call_end`,
… Items are rebuilt from them as codex's legacy reducer does: message-like items get synthetic
ids (`item-N`, assigned by the caller), tool items use their `call_id`; none has timestamps.
A payload that does not fit maps to `None` and is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app_server.rollout.lines import JsonObject
from app_server.rollout.review_output import (
    REVIEW_FALLBACK_MESSAGE,
    render_review_text,
    stored_review_output,
)
from app_server.rollout.wire_values import (
    command_actions,
    command_source,
    duration_to_ms,
    file_changes,
    mcp_result,
    memory_citation,
    path_from_uri,
    shell_join,
    web_search_action,
    wire_status,
)
from protocol.types import (
    AgentMessageThreadItem,
    CommandExecutionThreadItem,
    ContextCompactionThreadItem,
    EnteredReviewModeThreadItem,
    ExitedReviewModeThreadItem,
    FileChangeThreadItem,
    ImageViewThreadItem,
    McpToolCallThreadItem,
    UserMessageThreadItem,
    WebSearchThreadItem,
)

logger = logging.getLogger(__name__)

_M = TypeVar("_M", bound=BaseModel)


def legacy_user_message(item_id: str, payload: JsonObject) -> UserMessageThreadItem | None:
    """`user_message {message, images, local_images, text_elements}` → userMessage item."""
    content: list[dict[str, Any]] = []
    message = payload.get("message")
    if isinstance(message, str) and message.strip():
        content.append(
            {
                "type": "text",
                "text": message,
                "text_elements": list(payload.get("text_elements") or []),
            }
        )
    for image in payload.get("images") or []:
        content.append({"type": "image", "url": image})
    for path in payload.get("local_images") or []:
        content.append({"type": "localImage", "path": path})
    return _validated(UserMessageThreadItem, {"id": item_id, "content": content})


def legacy_agent_message(item_id: str, payload: JsonObject) -> AgentMessageThreadItem | None:
    """`agent_message {message, phase, memory_citation}` → agentMessage item."""
    return _validated(
        AgentMessageThreadItem,
        {
            "id": item_id,
            "text": payload.get("message", ""),
            "phase": payload.get("phase"),
            "memory_citation": memory_citation(payload.get("memory_citation")),
        },
    )


def legacy_command_execution(
    payload: JsonObject, *, completed: bool
) -> CommandExecutionThreadItem | None:
    """`exec_command_begin`/`exec_command_end` → commandExecution item (id = `call_id`)."""
    cwd = path_from_uri(str(payload.get("cwd") or ""))
    command = payload.get("command")
    data: dict[str, Any] = {
        "id": payload.get("call_id"),
        "command": shell_join([str(a) for a in command]) if isinstance(command, list) else command,
        "cwd": cwd,
        "process_id": payload.get("process_id"),
        "source": command_source(payload.get("source")),
        "status": "inProgress",
        "command_actions": command_actions(payload.get("parsed_cmd"), cwd),
    }
    if completed:
        output = payload.get("aggregated_output")
        data.update(
            status=wire_status(payload.get("status"), "completed")
            if payload.get("status") is not None
            else ("completed" if payload.get("exit_code") == 0 else "failed"),
            aggregated_output=output if output else None,
            exit_code=payload.get("exit_code"),
            duration_ms=duration_to_ms(payload.get("duration")),
        )
    return _validated(CommandExecutionThreadItem, data)


def legacy_file_change(payload: JsonObject, *, completed: bool) -> FileChangeThreadItem | None:
    """`patch_apply_begin`/`patch_apply_end` → fileChange item (id = `call_id`)."""
    if completed:
        status = payload.get("status")
        if status is None:
            status = "completed" if payload.get("success", True) else "failed"
        status = wire_status(status, "completed")
    else:
        status = "inProgress"
    return _validated(
        FileChangeThreadItem,
        {
            "id": payload.get("call_id"),
            "changes": file_changes(payload.get("changes")),
            "status": status,
        },
    )


def legacy_web_search(payload: JsonObject, *, completed: bool) -> WebSearchThreadItem | None:
    """`web_search_begin`/`web_search_end` → webSearch item (id = `call_id`)."""
    return _validated(
        WebSearchThreadItem,
        {
            "id": payload.get("call_id"),
            "query": payload.get("query", "") if completed else "",
            "action": web_search_action(payload.get("action")) if completed else None,
        },
    )


def legacy_mcp_tool_call(payload: JsonObject, *, completed: bool) -> McpToolCallThreadItem | None:
    """`mcp_tool_call_begin`/`mcp_tool_call_end` → mcpToolCall item (id = `call_id`)."""
    invocation = payload.get("invocation")
    invocation = invocation if isinstance(invocation, Mapping) else {}
    data: dict[str, Any] = {
        "id": payload.get("call_id"),
        "server": invocation.get("server"),
        "tool": invocation.get("tool"),
        "status": "inProgress",
        "arguments": invocation.get("arguments"),
    }
    if completed:
        result = payload.get("result")
        ok = result.get("Ok") if isinstance(result, Mapping) else None
        err = result.get("Err") if isinstance(result, Mapping) else None
        failed = err is not None or (isinstance(ok, Mapping) and ok.get("isError") is True)
        data.update(
            status="failed" if failed else "completed",
            result=mcp_result(ok),
            error={"message": str(err)} if err is not None else None,
            duration_ms=duration_to_ms(payload.get("duration")),
        )
    return _validated(McpToolCallThreadItem, data)


def legacy_image_view(payload: JsonObject) -> ImageViewThreadItem | None:
    """`view_image_tool_call {call_id, path}` → imageView item."""
    return _validated(
        ImageViewThreadItem,
        {"id": payload.get("call_id"), "path": path_from_uri(str(payload.get("path", "")))},
    )


def legacy_context_compaction(item_id: str) -> ContextCompactionThreadItem:
    """`context_compacted` → contextCompaction item."""
    return ContextCompactionThreadItem(id=item_id)


def legacy_entered_review(item_id: str, payload: JsonObject) -> EnteredReviewModeThreadItem:
    """`entered_review_mode {user_facing_hint}` → enteredReviewMode item."""
    hint = payload.get("user_facing_hint")
    return EnteredReviewModeThreadItem(
        id=item_id, review=hint if isinstance(hint, str) else "Review requested."
    )


def legacy_exited_review(item_id: str, payload: JsonObject) -> ExitedReviewModeThreadItem:
    """`exited_review_mode {review_output}` → exitedReviewMode item: the review rendered as the
    live item showed it (codex's fallback text when there is none: an interrupted review)."""
    output = stored_review_output(payload.get("review_output"))
    review = render_review_text(output) if output is not None else REVIEW_FALLBACK_MESSAGE
    return ExitedReviewModeThreadItem(id=item_id, review=review)


def _validated(model: type[_M], data: dict[str, Any]) -> _M | None:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        logger.warning("skipping malformed legacy %s item: %s", model.__name__, error)
        return None
