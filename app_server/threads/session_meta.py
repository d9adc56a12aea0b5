"""The `session_meta` line that opens every rollout we write, and the record of a new thread.

What goes in it follows codex 0.169 (STORAGE.md §3.3), so codex can read our files: ids,
creation time, cwd, originator, our version, source (`vscode`, as 0.169 records app-server
threads), provider, base instructions, history mode, the context window id, and fork lineage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app_server import __version__
from app_server.ids import uuid7
from app_server.settings import ThreadSettings, sandbox_to_disk
from app_server.store.list_cursor import format_timestamp_ms
from app_server.store.records import ThreadRecord

APP_SERVER_SOURCE = "vscode"
"""0.169 records threads created through the app-server as `vscode`; we do the same so codex and
its clients list them alike."""


@dataclass(frozen=True, slots=True)
class ForkOrigin:
    """Where a fork's history comes from (STORAGE.md §3.6)."""

    source_id: str
    history_base: dict[str, Any] | None = None
    """`{thread_id, end_ordinal_exclusive, end_byte_offset}` for a paginated source."""


@dataclass(frozen=True, slots=True)
class SpawnOrigin:
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

    def thread_spawn(self) -> dict[str, Any]:
        return {
            "parent_thread_id": self.parent_thread_id,
            "depth": self.depth,
            "agent_path": self.agent_path,
            "agent_nickname": self.nickname,
            "agent_role": self.role,
        }


def new_thread_record(
    thread_id: str,
    *,
    created_at_ms: int,
    settings: ThreadSettings,
    originator: str,
    history_mode: str,
    rollout_path: str,
    fork: ForkOrigin | None = None,
    preview: str = "",
    name: str | None = None,
    spawn: SpawnOrigin | None = None,
) -> ThreadRecord:
    """The metadata of a thread that has no rollout yet (what its first lines will say)."""
    return ThreadRecord(
        id=thread_id,
        session_id=spawn.session_id if spawn else thread_id,
        rollout_path=rollout_path,
        created_at_ms=created_at_ms,
        updated_at_ms=created_at_ms,
        recency_at_ms=created_at_ms,
        source={"subAgent": {"thread_spawn": spawn.thread_spawn()}} if spawn else APP_SERVER_SOURCE,
        thread_source="subagent" if spawn else None,
        parent_thread_id=spawn.parent_thread_id if spawn else None,
        forked_from_id=fork.source_id if fork else None,
        attached_to_thread_id=None,
        model_provider=settings.model_provider,
        model=settings.model,
        reasoning_effort=settings.reasoning_effort,
        cwd=settings.cwd,
        title="",
        preview=preview,
        first_user_message="",
        name=name,
        approval_mode=settings.approval_policy
        if isinstance(settings.approval_policy, str)
        else settings.approval_policy.model_dump_json(),
        sandbox_policy="",
        tokens_used=0,
        has_user_event=False,
        archived=False,
        archived_at_ms=None,
        git_sha=None,
        git_branch=None,
        git_origin_url=None,
        cli_version=__version__,
        agent_nickname=spawn.nickname if spawn else None,
        agent_role=spawn.role if spawn else None,
        agent_path=spawn.agent_path if spawn else None,
        history_mode="legacy" if history_mode == "legacy" else "paginated",
        originator=originator,
        memory_mode="enabled",
        last_turn_started_at_ms=None,
        history_base_id=(fork.history_base or {}).get("thread_id") if fork else None,
    )


def session_meta_line(
    record: ThreadRecord,
    settings: ThreadSettings,
    fork: ForkOrigin | None = None,
    *,
    spawn: SpawnOrigin | None = None,
    multi_agent_version: str | None = None,
    window_id: str | None = None,
) -> dict[str, Any]:
    """The first line of a new rollout; `window_id` names the thread's first context window
    (the loaded thread's `initial_window_id`)."""
    payload: dict[str, Any] = {
        "account_scoped": True,
        "session_id": record.session_id,
        "id": record.id,
        "timestamp": format_timestamp_ms(record.created_at_ms),
        "cwd": settings.cwd,
        "runtime_workspace_roots": settings.runtime_workspace_roots,
        "originator": record.originator,
        "cli_version": record.cli_version,
        "source": APP_SERVER_SOURCE,
        "model_provider": settings.model_provider,
        "history_mode": record.history_mode,
        "context_window": {"window_id": window_id or uuid7()},
    }
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
    if settings.base_instructions:
        payload["base_instructions"] = {"text": settings.base_instructions}
    if fork is not None:
        payload["forked_from_id"] = fork.source_id
        if fork.history_base is not None:
            payload["forked_from_ordinal_exclusive"] = fork.history_base["end_ordinal_exclusive"]
            payload["history_base"] = fork.history_base
    return {"type": "session_meta", "payload": payload}


def sandbox_policy_json(settings: ThreadSettings) -> dict[str, Any]:
    """The `turn_context.sandbox_policy` value for the thread's current policy."""
    return sandbox_to_disk(settings.sandbox)
