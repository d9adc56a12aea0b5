"""`ThreadRecord`: the stored metadata of one thread, and the wire `Thread` built from it.

A `ThreadRecord` is what the SQLite `threads` row will hold (STORAGE.md §5.1); every field says
where it comes from (§5.5). It is built from the history fold's `ThreadMetadata` plus the facts
only the file system knows (path, archived, mtime) and the name from `session_index.jsonl`.
Timestamps are unix milliseconds here; the wire `Thread` uses seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from msgspec import Struct

from app_server.rollout.lines import HistoryMode
from app_server.rollout.thread_metadata import ThreadMetadata
from protocol.types import (
    GitInfo,
    NotLoadedThreadStatus,
    Thread,
    ThreadStatus,
    Turn,
)

DEFAULT_APPROVAL_MODE = "on-request"
"""Used when no `turn_context` recorded an approval policy (codex's default policy)."""

_WIRE_SOURCE_NAMES = {
    "cli": "cli",
    "vscode": "vscode",
    "exec": "exec",
    "app_server": "appServer",
    "appServer": "appServer",
    "unknown": "unknown",
}


class ThreadRecord(Struct, frozen=True):
    """One stored thread's metadata (the `threads` index row). Fields and their sources:"""

    id: str
    """`session_meta.id` of the first `session_meta` (= the uuid in the file name)."""
    session_id: str
    """`session_meta.session_id` (root of the session tree; = `id` when absent)."""
    rollout_path: str
    """Plain `.jsonl` path relative to the data dir, POSIX-style, even when stored as `.zst`."""
    created_at_ms: int
    """First `session_meta.timestamp` (fallback: its line timestamp / the file-name stamp)."""
    updated_at_ms: int
    """Given by the caller: codex's rebuild uses the rollout's mtime; live, the last append."""
    recency_at_ms: int
    """Given by the caller: codex's rebuild uses the mtime; live, the last `task_started`."""
    source: Any
    """Wire `SessionSource` as a JSON value (`"vscode"`, `{"subAgent": {"thread_spawn": …}}`);
    converted from the disk form (`app_server` → `appServer`, `subagent` → `subAgent`)."""
    thread_source: str | None
    """`session_meta.thread_source` (`"subagent"` for spawned threads)."""
    parent_thread_id: str | None
    """`session_meta.parent_thread_id`, else `source.subagent.thread_spawn.parent_thread_id`."""
    forked_from_id: str | None
    """`session_meta.forked_from_id` (forks, and full-history sub-agents)."""
    attached_to_thread_id: str | None
    """`forked_from_id` when `session_meta.attached_thread` is true (attachToSource forks)."""
    model_provider: str
    """`session_meta.model_provider` (fallback: `thread_settings_applied.model_provider_id`)."""
    model: str | None
    """Last `turn_context.model` / `thread_settings_applied.model`."""
    reasoning_effort: str | None
    """Last `turn_context` effort (`collaboration_mode.settings.reasoning_effort`)."""
    cwd: str
    """Last own `session_meta.cwd`."""
    title: str
    """The first user message; `''` for forks and sub-agents (STORAGE.md §5.1)."""
    preview: str
    """First real user message of the visible history (a fork inherits its base's, as codex
    shows live); `''` hides the thread from default lists."""
    first_user_message: str
    """First real user message among the thread's own lines (codex's rebuild preview)."""
    name: str | None
    """User-set name: the latest `session_index.jsonl` entry (not in the rollout)."""
    approval_mode: str
    """Last `turn_context.approval_policy` (kebab string; JSON for granular policies)."""
    sandbox_policy: str
    """Last `turn_context.permission_profile` (else `sandbox_policy`) as compact JSON; `''`
    when no turn recorded one."""
    tokens_used: int
    """Last `token_count.info.total_token_usage.total_tokens`."""
    has_user_event: bool
    """Whether any user message (real or injected) was recorded."""
    archived: bool
    """The rollout lives under `archived_sessions/`."""
    archived_at_ms: int | None
    """Given by the caller for archived threads (codex: the file's mtime)."""
    git_sha: str | None
    """Last own `session_meta.git.commit_hash`."""
    git_branch: str | None
    """Last own `session_meta.git.branch`."""
    git_origin_url: str | None
    """Last own `session_meta.git.repository_url`."""
    cli_version: str
    """`session_meta.cli_version` (the writer's version)."""
    agent_nickname: str | None
    """`session_meta.agent_nickname` (else from `source…thread_spawn`)."""
    agent_role: str | None
    """`session_meta.agent_role` (else from `source…thread_spawn`)."""
    agent_path: str | None
    """`session_meta.agent_path` (else from `source…thread_spawn`)."""
    history_mode: HistoryMode
    """`session_meta.history_mode`; absent ⇒ `legacy`."""
    originator: str | None
    """`session_meta.originator` (the creating client's `clientInfo.name`)."""
    memory_mode: str
    """`session_meta.memory_mode`, default `enabled`."""
    last_turn_started_at_ms: int | None
    """Timestamp of the last own `task_started` line (live recency; see `recency_at_ms`)."""
    history_base_id: str | None = None
    """`session_meta.history_base.thread_id`: the thread whose lines a paginated fork references
    (that thread must not be deleted while this one exists)."""

    @property
    def created_at(self) -> int:
        """Creation time in unix seconds (wire `createdAt`)."""
        return self.created_at_ms // 1000

    @property
    def updated_at(self) -> int:
        """Update time in unix seconds (wire `updatedAt`)."""
        return self.updated_at_ms // 1000

    @property
    def recency_at(self) -> int:
        """Recency time in unix seconds (wire `recencyAt`)."""
        return self.recency_at_ms // 1000


def source_to_wire(source: Any) -> Any:
    """Disk `session_meta.source` → wire `SessionSource` JSON.

    `"app_server"` → `"appServer"`; `{"subagent": X}` → `{"subAgent": X}` (X keeps its snake_case
    keys, as on the wire); `{"custom": s}` unchanged; anything unrecognized → `"unknown"`.
    """
    if isinstance(source, str):
        return _WIRE_SOURCE_NAMES.get(source, "unknown")
    if isinstance(source, Mapping):
        if "subagent" in source or "subAgent" in source:
            return {"subAgent": source.get("subagent", source.get("subAgent"))}
        if isinstance(source.get("custom"), str):
            return {"custom": source["custom"]}
    return "unknown"


def build_thread_record(
    metadata: ThreadMetadata,
    *,
    rollout_path: str,
    archived: bool,
    updated_at_ms: int,
    recency_at_ms: int | None = None,
    archived_at_ms: int | None = None,
    name: str | None = None,
    fallback_created_at_ms: int | None = None,
) -> ThreadRecord:
    """The index row for a folded thread plus what only the file system knows.

    `updated_at_ms`/`recency_at_ms`: codex 0.169's rebuild uses the rollout file's mtime for
    both (pass it to match `expected/`); `recency_at_ms` defaults to `updated_at_ms`.
    `fallback_created_at_ms` (e.g. from the file name) is used when `session_meta` has no
    timestamp.
    """
    created_at_ms = metadata.created_at_ms
    if created_at_ms is None:
        created_at_ms = fallback_created_at_ms if fallback_created_at_ms is not None else 0
    is_fork = metadata.forked_from_id is not None
    is_sub_agent = metadata.parent_thread_id is not None or metadata.thread_source == "subagent"
    if is_sub_agent:
        # codex 0.169 dates a spawned sub-agent to the second it was created (its rollout's
        # file-name stamp), not to the millisecond of its session_meta; list cursors show it.
        created_at_ms -= created_at_ms % 1000
    return ThreadRecord(
        id=metadata.thread_id,
        session_id=metadata.session_id,
        rollout_path=rollout_path,
        created_at_ms=created_at_ms,
        updated_at_ms=updated_at_ms,
        recency_at_ms=updated_at_ms if recency_at_ms is None else recency_at_ms,
        source=source_to_wire(metadata.source),
        thread_source=metadata.thread_source,
        parent_thread_id=metadata.parent_thread_id,
        forked_from_id=metadata.forked_from_id,
        attached_to_thread_id=metadata.forked_from_id if metadata.attached_thread else None,
        model_provider=metadata.model_provider or "",
        model=metadata.model,
        reasoning_effort=metadata.reasoning_effort,
        cwd=metadata.cwd or "",
        title="" if is_fork or is_sub_agent else metadata.preview,
        preview=metadata.preview,
        first_user_message=metadata.first_user_message,
        name=name,
        approval_mode=metadata.approval_mode or DEFAULT_APPROVAL_MODE,
        sandbox_policy=metadata.sandbox_policy or "",
        tokens_used=metadata.tokens_used,
        has_user_event=metadata.has_user_event,
        archived=archived,
        archived_at_ms=archived_at_ms if archived else None,
        git_sha=metadata.git_sha,
        git_branch=metadata.git_branch,
        git_origin_url=metadata.git_origin_url,
        cli_version=metadata.cli_version or "",
        agent_nickname=metadata.agent_nickname,
        agent_role=metadata.agent_role,
        agent_path=metadata.agent_path,
        history_mode=metadata.history_mode,
        originator=metadata.originator,
        memory_mode=metadata.memory_mode or "enabled",
        last_turn_started_at_ms=metadata.last_turn_started_at_ms,
        history_base_id=metadata.history_base.thread_id if metadata.history_base else None,
    )


def thread_from_record(
    record: ThreadRecord,
    data_dir: Path,
    *,
    status: ThreadStatus | None = None,
    turns: Sequence[Turn] = (),
) -> Thread:
    """The wire `Thread` of a stored thread.

    `status` defaults to `notLoaded` (a thread read from disk); `path` is the absolute plain
    rollout path under `data_dir`; load-state and out-of-scope fields (`environments`,
    `canAcceptDirectInput`, `section…`, `projectId`, `extra`, `daybreakEnabled`) are null.
    `sessionId` is the thread's own id, as codex 0.169 reports it for a thread that is not
    loaded (a loaded sub-agent reports its session tree's root, see `LoadedThread`).
    """
    git_info = None
    if record.git_sha or record.git_branch or record.git_origin_url:
        git_info = GitInfo(
            sha=record.git_sha, branch=record.git_branch, origin_url=record.git_origin_url
        )
    return Thread(
        id=record.id,
        session_id=record.id,
        forked_from_id=record.forked_from_id,
        attached_to_thread_id=record.attached_to_thread_id,
        parent_thread_id=record.parent_thread_id,
        preview=record.preview,
        name=record.name,
        ephemeral=False,
        history_mode=record.history_mode,
        model_provider=record.model_provider,
        model=record.model,
        reasoning_effort=record.reasoning_effort,
        created_at=record.created_at,
        updated_at=record.updated_at,
        recency_at=record.recency_at,
        status=status if status is not None else NotLoadedThreadStatus(),
        path=str(data_dir / record.rollout_path),
        cwd=record.cwd,
        cli_version=record.cli_version,
        originator=record.originator,
        source=record.source,  # validated by `Thread` itself, whose schema is built already
        thread_source=record.thread_source,
        agent_nickname=record.agent_nickname,
        agent_role=record.agent_role,
        git_info=git_info,
        can_accept_direct_input=None,
        environments=None,
        turns=list(turns),
    )
