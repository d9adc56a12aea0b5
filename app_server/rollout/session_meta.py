"""The `session_meta` line that opens every rollout we write, and the lineage it records.

What goes in it follows codex 0.169 (STORAGE.md §3.3), so codex can read our files: ids,
creation time, cwd, originator, our version, source (`vscode`, as 0.169 records app-server
threads), provider, base instructions, history mode, the context window id, and where the
thread came from: a fork's source (and, paginated, the `history_base` its history starts with),
a sub-agent's parent and place in the session tree. `thread_metadata` reads it back.
"""

from __future__ import annotations

from msgspec import Struct

from app_server.rollout.envelope import format_timestamp_ms
from app_server.rollout.lines import (
    GitMeta,
    HistoryBaseRef,
    HistoryMode,
    SessionMetaLine,
    SessionMetaPayload,
    ThreadSpawn,
)

APP_SERVER_SOURCE = "vscode"
"""0.169 records threads created through the app-server as `vscode`; we do the same so codex and
its clients list them alike."""


def history_base(
    thread_id: str, end_ordinal_exclusive: int, end_byte_offset: int
) -> HistoryBaseRef:
    """A paginated fork's reference to its source: the source's lines `[0, end)`."""
    return {
        "thread_id": thread_id,
        "end_ordinal_exclusive": end_ordinal_exclusive,
        "end_byte_offset": end_byte_offset,
    }


class ForkOrigin(Struct, frozen=True):
    """Where a fork's history comes from (STORAGE.md §3.6)."""

    source_id: str
    history_base: HistoryBaseRef | None = None
    """For a paginated source (`history_base()`); a legacy fork copies the lines instead."""


class SpawnOrigin(Struct, frozen=True):
    """Who spawned a sub-agent thread, and its place in the session tree (STORAGE.md §3.3)."""

    parent_thread_id: str
    session_id: str
    """The root of the session tree (the root thread's id)."""
    depth: int
    agent_path: str | None
    nickname: str | None
    role: str | None = None
    history_start_ordinal: int | None = None
    """Where the child's own lines start when it carries a copy of its parent's history."""

    def thread_spawn(self) -> ThreadSpawn:
        return {
            "parent_thread_id": self.parent_thread_id,
            "depth": self.depth,
            "agent_path": self.agent_path,
            "agent_nickname": self.nickname,
            "agent_role": self.role,
        }


def session_meta_line(
    thread_id: str,
    *,
    session_id: str,
    created_at_ms: int,
    cwd: str,
    runtime_workspace_roots: list[str],
    originator: str | None,
    cli_version: str,
    model_provider: str,
    history_mode: HistoryMode,
    window_id: str,
    base_instructions: str | None,
    multi_agent_version: str | None = None,
    fork: ForkOrigin | None = None,
    spawn: SpawnOrigin | None = None,
    thread_source: str | None = None,
    git: GitMeta | None = None,
) -> SessionMetaLine:
    """The first line of a new rollout; `window_id` names the thread's first context window;
    `thread_source` is the client's classification (`thread/start.threadSource`, e.g. `"user"`),
    written right after `source` as codex 0.169 does; `git` (None outside a repository) is
    the last key, as codex writes it."""
    payload: SessionMetaPayload = {
        "account_scoped": True,
        "session_id": session_id,
        "id": thread_id,
        "timestamp": format_timestamp_ms(created_at_ms),
        "cwd": cwd,
        "runtime_workspace_roots": runtime_workspace_roots,
        "originator": originator,
        "cli_version": cli_version,
        "source": APP_SERVER_SOURCE,
        "model_provider": model_provider,
        "history_mode": history_mode,
        "context_window": {"window_id": window_id},
    }
    if thread_source is not None:
        payload["thread_source"] = thread_source
        for later in ("model_provider", "history_mode", "context_window"):
            payload[later] = payload.pop(later)  # type: ignore[misc]
    if spawn is not None:
        payload["parent_thread_id"] = spawn.parent_thread_id
        payload["source"] = {"subagent": {"thread_spawn": spawn.thread_spawn()}}
        payload["thread_source"] = "subagent"
        payload["agent_nickname"] = spawn.nickname
        payload["agent_path"] = spawn.agent_path
        if spawn.role is not None:
            payload["agent_role"] = spawn.role
        if spawn.history_start_ordinal is not None:
            payload["subagent_history_start_ordinal"] = spawn.history_start_ordinal
    if multi_agent_version is not None:
        payload["multi_agent_version"] = multi_agent_version
    if base_instructions:
        payload["base_instructions"] = {"text": base_instructions}
    if fork is not None:
        payload["forked_from_id"] = fork.source_id
        if fork.history_base is not None:
            payload["forked_from_ordinal_exclusive"] = fork.history_base["end_ordinal_exclusive"]
            payload["history_base"] = fork.history_base
    if git is not None:
        payload["git"] = git
    return {"type": "session_meta", "payload": payload}
