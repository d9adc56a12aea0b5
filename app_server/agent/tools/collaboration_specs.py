"""The tool specs of the multi-agent namespaces: `collaboration` (v2) and `multi_agent_v1`.

Parameters are 0.169's (names, types, required fields), so models trained on codex call them
the same way; the descriptions are ours.
"""

from __future__ import annotations

from typing import Any

COLLABORATION = "collaboration"
MULTI_AGENT_V1 = "multi_agent_v1"
NAMESPACE_DESCRIPTION = "Tools for spawning and managing sub-agents."


def _function(
    name: str, description: str, properties: dict[str, Any], required: list[str]
) -> dict[str, Any]:
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    parameters["additionalProperties"] = False
    return {
        "type": "function",
        "name": name,
        "description": description,
        "strict": False,
        "parameters": parameters,
    }


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


_TIMEOUT = {
    "type": "number",
    "description": "Timeout in milliseconds. Defaults to 30000, min 10000, max 3600000.",
}

V2_SPECS: dict[str, dict[str, Any]] = {
    "spawn_agent": _function(
        "spawn_agent",
        "Start a new agent on a well-scoped subtask. Its canonical task name is your own task "
        "name plus `/<task_name>` (from `/root`, task_name `tests` gives `/root/tests`); refer "
        "to it by either. It has your tools, may spawn agents of its own, can message you, and "
        'its final answer is delivered to you when it finishes. `fork_turns: "all"` (the '
        'default) gives it this conversation as context; `"none"` gives it only the message.',
        {
            "fork_turns": _text("Parent history to inherit: `all` (default) or `none`."),
            "message": _text("The task for the new agent, as plain text."),
            "model": _text("Model for the new agent. Omit to use your own model."),
            "reasoning_effort": _text("Reasoning effort for the new agent. Omit to use yours."),
            "task_name": _text(
                "Task name for the new agent: lowercase letters, digits and underscores."
            ),
        },
        ["task_name", "message"],
    ),
    "send_message": _function(
        "send_message",
        "Send a message to an existing agent; it reads it at its next step. Does not start a turn.",
        {
            "message": _text("The message text."),
            "target": _text("Relative or canonical task name of the agent (from spawn_agent)."),
        },
        ["target", "message"],
    ),
    "followup_task": _function(
        "followup_task",
        "Give an existing (non-root) agent a new task: it starts a turn if it is idle, or takes "
        "the task at its next step if it is running.",
        {
            "message": _text("The task text."),
            "target": _text("Agent id or canonical task name (from spawn_agent)."),
        },
        ["target", "message"],
    ),
    "wait_agent": _function(
        "wait_agent",
        "Wait until another agent sends you something (a message or a final answer), new user "
        "input arrives, or the timeout passes. Returns which of these happened, not the "
        "content: messages appear in your conversation.",
        {"timeout_ms": _TIMEOUT},
        [],
    ),
    "interrupt_agent": _function(
        "interrupt_agent",
        "Stop an agent's current turn, if it runs one, and return its previous status. The "
        "agent stays available for messages and follow-up tasks.",
        {"target": _text("Agent id or canonical task name (from spawn_agent).")},
        ["target"],
    ),
    "list_agents": _function(
        "list_agents",
        "List the live agents of this team, optionally only those under a task-path prefix.",
        {"path_prefix": _text("Task-path prefix without a trailing slash; omit to list all.")},
        [],
    ),
}

_ITEMS = {
    "type": "array",
    "description": "Structured input items (text, image, local_image, skill, mention).",
    "items": {
        "type": "object",
        "properties": {
            "type": _text("Input item type: text, image, local_image, skill or mention."),
            "text": _text("Text, when type is text."),
            "image_url": _text("Image URL, when type is image."),
            "path": _text("Path, when type is local_image, skill or mention."),
            "name": _text("Display name, when type is skill or mention."),
        },
        "additionalProperties": False,
    },
}

V1_SPECS: dict[str, dict[str, Any]] = {
    "spawn_agent": _function(
        "spawn_agent",
        "Spawn a sub-agent for a well-scoped task; returns its id and nickname. Only delegate "
        "when the user asked for sub-agents or parallel work.",
        {
            "fork_context": {
                "type": "boolean",
                "description": "True gives the agent this conversation as context.",
            },
            "items": _ITEMS,
            "message": _text("The task as plain text. Use either message or items."),
            "model": _text("Model for the new agent. Omit to use your own model."),
            "reasoning_effort": _text("Reasoning effort for the new agent. Omit to use yours."),
        },
        [],
    ),
    "send_input": _function(
        "send_input",
        "Send input to an existing agent. `interrupt: true` stops its current work first.",
        {
            "interrupt": {
                "type": "boolean",
                "description": "True interrupts the agent's turn and handles this input now.",
            },
            "items": _ITEMS,
            "message": _text("The input as plain text. Use either message or items."),
            "target": _text("Agent id (from spawn_agent)."),
        },
        ["target"],
    ),
    "resume_agent": _function(
        "resume_agent",
        "Reopen a closed agent so it can take input again.",
        {"id": _text("Agent id to resume.")},
        ["id"],
    ),
    "wait_agent": _function(
        "wait_agent",
        "Wait until one of the agents reaches a final status (completed, errored, interrupted, "
        "shut down); returns their statuses, empty on timeout.",
        {
            "targets": {
                "type": "array",
                "description": "Agent ids to wait on; returns when any of them finishes.",
                "items": {"type": "string"},
            },
            "timeout_ms": _TIMEOUT,
        },
        ["targets"],
    ),
    "close_agent": _function(
        "close_agent",
        "Shut an agent (and its open descendants) down and return its previous status.",
        {"target": _text("Agent id to close (from spawn_agent).")},
        ["target"],
    ),
}
