"""What the model is told besides the conversation: base instructions and harness context.

The base instructions are the thread's system prompt (recorded in `session_meta` so a resumed
thread is sent exactly the same text); the permissions note and the environment context are
model-visible history items written once at the first turn (and again when they change), so they
are replayed verbatim on resume like everything else (AGENT_LOOP.md §2.3).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from protocol.types import (
    DangerFullAccessSandboxPolicy,
    ExternalSandboxSandboxPolicy,
    ReadOnlySandboxPolicy,
    SandboxPolicy,
    WorkspaceWriteSandboxPolicy,
)

PROMPTS_DIR = Path(__file__).parent / "prompts"
"""The built-in prompts, beside this module (read as plain files: `importlib.resources` costs
~5 ms of imports on its first use, which was the first `thread/start`'s)."""


@cache
def default_base_instructions() -> str:
    """The built-in system prompt, used when neither config nor request gives one."""
    return (PROMPTS_DIR / "base_instructions.md").read_text("utf-8")


@cache
def review_instructions() -> str:
    """Codex 0.169's review rubric: the system prompt of a review's reviewer (`review/start`),
    which also tells it the JSON shape its answer must take."""
    return (PROMPTS_DIR / "review.md").read_text("utf-8")


def plan_mode_instructions() -> str:
    """Codex 0.169's built-in developer instructions of plan mode (`collaborationMode` plan
    without instructions of its own)."""
    return (PROMPTS_DIR / "plan_mode.md").read_text("utf-8")


def collaboration_mode_text(instructions: str) -> str:
    """The developer message that tells the model its collaboration mode's instructions."""
    return f"<collaboration_mode>{instructions}</collaboration_mode>"


def shell_name() -> str:
    """The user's shell as the environment context names it."""
    return os.path.basename(os.environ.get("SHELL", "bash")) or "bash"


def current_date() -> str:
    """Today in local time, `YYYY-MM-DD`."""
    return datetime.now().strftime("%Y-%m-%d")


def timezone_name() -> str:
    """The IANA name of the local time zone (else its abbreviation)."""
    name = os.environ.get("TZ")
    if name:
        return name
    try:
        link = os.readlink("/etc/localtime")
        return link.split("zoneinfo/", 1)[1] if "zoneinfo/" in link else time.tzname[0]
    except OSError:
        return time.tzname[0]


def environment_context_text(cwd: str | None) -> str:
    """The `<environment_context>` block (codex 0.169's format); without a cwd (no environment
    selected, `thread/settings/update.environments: []`) it names neither cwd nor shell, as
    codex's does."""
    where = f"  <cwd>{cwd}</cwd>\n  <shell>{shell_name()}</shell>\n" if cwd is not None else ""
    return (
        "<environment_context>\n"
        f"{where}"
        f"  <current_date>{current_date()}</current_date>\n"
        f"  <timezone>{timezone_name()}</timezone>\n"
        "</environment_context>"
    )


def permissions_text(sandbox: SandboxPolicy, approval_policy: Any) -> str:
    """A short description of the sandbox and approval policy for the model."""
    if isinstance(sandbox, DangerFullAccessSandboxPolicy | ExternalSandboxSandboxPolicy):
        access = "Commands run without a sandbox: full file system and network access."
    elif isinstance(sandbox, WorkspaceWriteSandboxPolicy):
        roots = ", ".join(["the working directory", *sandbox.writable_roots])
        network = "allowed" if sandbox.network_access else "disabled"
        access = (
            f"Commands may write only inside {roots} (and temp dirs); network access is {network}."
        )
    elif isinstance(sandbox, ReadOnlySandboxPolicy):
        access = "Commands may read files but not write them; network access is disabled."
    else:
        access = "Commands run under the configured sandbox."
    policy = approval_policy if isinstance(approval_policy, str) else "granular"
    approvals = {
        "never": "Never ask for approval; if an action is not permitted, explain why it failed.",
        "untrusted": "The user approves every command except known-safe read-only ones.",
        "on-request": "Ask for approval (request escalation) only when an action needs more "
        "access than the sandbox gives.",
    }.get(policy, "Approvals follow the user's per-category settings.")
    return f"<permissions instructions>\n{access}\n{approvals}\n</permissions instructions>"


def message(role: str, text: str, item_id: str) -> dict[str, Any]:
    """A Responses `message` input item with one text part."""
    return {
        "type": "message",
        "id": item_id,
        "role": role,
        "content": [{"type": "input_text", "text": text}],
    }


def single_user_text(item: Mapping[str, Any]) -> str | None:
    """The text of a model-history item that is a user `message` with exactly one text part
    (the shape of the records the harness writes: user shell commands, reviews), else None."""
    if item.get("type") != "message" or item.get("role") != "user":
        return None
    content = item.get("content")
    if not isinstance(content, list) or len(content) != 1 or not isinstance(content[0], dict):
        return None
    text = content[0].get("text")
    return text if isinstance(text, str) else None
