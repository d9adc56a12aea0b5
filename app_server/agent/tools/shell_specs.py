"""What the model is told about the shell tools: their Responses API specs (0.169's parameters,
our own descriptions)."""

from __future__ import annotations

from typing import Any

SANDBOX_PERMISSIONS = {
    "type": "string",
    "enum": ["use_default", "require_escalated"],
    "description": (
        "`require_escalated` asks the user to run this command outside the sandbox "
        "(with `justification`)."
    ),
}

EXEC_COMMAND_SPEC: dict[str, Any] = {
    "type": "function",
    "name": "exec_command",
    "description": (
        "Run a shell command in the workspace and return its output. A command still running "
        "after `yield_time_ms` keeps running in the background; poll it or write to it with "
        "`write_stdin` and the session ID returned."
    ),
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "cmd": {"type": "string", "description": "The shell command to run."},
            "workdir": {
                "type": "string",
                "description": "Working directory (default: the thread's working directory).",
            },
            "shell": {"type": "string", "description": "Shell to run it with (default bash)."},
            "login": {
                "type": "boolean",
                "description": "Run the shell as a login shell (default true).",
            },
            "tty": {
                "type": "boolean",
                "description": "Give the command a terminal, so `write_stdin` can type into it.",
            },
            "yield_time_ms": {
                "type": "number",
                "description": "How long to wait for output before returning (250-30000 ms, "
                "default 10000).",
            },
            "max_output_tokens": {
                "type": "number",
                "description": "Longest output returned, in tokens (default 10000).",
            },
            "sandbox_permissions": SANDBOX_PERMISSIONS,
            "justification": {
                "type": "string",
                "description": "Why the command needs to run outside the sandbox.",
            },
            "prefix_rule": {
                "type": "array",
                "items": {"type": "string"},
                "description": "A command prefix the user may approve for the session.",
            },
        },
        "required": ["cmd"],
        "additionalProperties": False,
    },
}

WRITE_STDIN_SPEC: dict[str, Any] = {
    "type": "function",
    "name": "write_stdin",
    "description": (
        "Write characters to a running `exec_command` session (started with `tty`), or poll "
        "it for new output with empty `chars`."
    ),
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "session_id": {"type": "number", "description": "The session to write to."},
            "chars": {"type": "string", "description": "Characters to write (may be empty)."},
            "yield_time_ms": {
                "type": "number",
                "description": "How long to wait for output (writes: default 250 ms; empty "
                "polls: 5000-300000 ms).",
            },
            "max_output_tokens": {
                "type": "number",
                "description": "Longest output returned, in tokens (default 10000).",
            },
        },
        "required": ["session_id"],
        "additionalProperties": False,
    },
}

SHELL_SPEC: dict[str, Any] = {
    "type": "function",
    "name": "shell",
    "description": "Run a command (an argv list) and return its output.",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "command": {"type": "array", "items": {"type": "string"}},
            "workdir": {"type": "string"},
            "timeout_ms": {"type": "number"},
            "sandbox_permissions": SANDBOX_PERMISSIONS,
            "justification": {"type": "string"},
        },
        "required": ["command"],
        "additionalProperties": False,
    },
}

SHELL_COMMAND_SPEC: dict[str, Any] = {
    "type": "function",
    "name": "shell_command",
    "description": "Run a shell command (a script) and return its output.",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "command": {"type": "string"},
            "workdir": {"type": "string"},
            "login": {"type": "boolean"},
            "timeout_ms": {"type": "number"},
            "sandbox_permissions": SANDBOX_PERMISSIONS,
            "justification": {"type": "string"},
        },
        "required": ["command"],
        "additionalProperties": False,
    },
}
