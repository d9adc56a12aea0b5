"""A new thread before it has a rollout: its record, and the `session_meta` line that opens it.

The record is what the thread's first lines will say once written; the line itself is built by
`app_server.rollout.session_meta` (the format), from the record and the thread's settings.
"""

from __future__ import annotations

from app_server import __version__
from app_server.ids import uuid7
from app_server.rollout import session_meta
from app_server.rollout.lines import GitMeta, SessionMetaLine
from app_server.rollout.session_meta import APP_SERVER_SOURCE, ForkOrigin, SpawnOrigin
from app_server.settings import ResolvedSettings
from app_server.store.records import ThreadRecord


def meta_version(multi_agent_version: str | None) -> str | None:
    """What a root's `session_meta.multi_agent_version` says: 0.169 writes `v2` and leaves the
    key out for v1 (the default a reader assumes)."""
    return "v2" if multi_agent_version == "v2" else None


def new_thread_record(
    thread_id: str,
    *,
    created_at_ms: int,
    settings: ResolvedSettings,
    originator: str,
    history_mode: str,
    rollout_path: str,
    fork: ForkOrigin | None = None,
    preview: str = "",
    name: str | None = None,
    spawn: SpawnOrigin | None = None,
    thread_source: str | None = None,
) -> ThreadRecord:
    """The metadata of a thread that has no rollout yet (what its first lines will say);
    `thread_source` is the client's `threadSource` (a spawned sub-agent's is `"subagent"`)."""
    return ThreadRecord(
        id=thread_id,
        session_id=spawn.session_id if spawn else thread_id,
        rollout_path=rollout_path,
        created_at_ms=created_at_ms,
        updated_at_ms=created_at_ms,
        recency_at_ms=created_at_ms,
        source={"subAgent": {"thread_spawn": spawn.thread_spawn()}} if spawn else APP_SERVER_SOURCE,
        thread_source="subagent" if spawn else thread_source,
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
        history_base_id=fork.history_base["thread_id"] if fork and fork.history_base else None,
    )


def session_meta_line(
    record: ThreadRecord,
    settings: ResolvedSettings,
    fork: ForkOrigin | None = None,
    *,
    spawn: SpawnOrigin | None = None,
    multi_agent_version: str | None = None,
    window_id: str | None = None,
    git: GitMeta | None = None,
) -> SessionMetaLine:
    """The first line of a new thread's rollout, from its record and settings; `window_id`
    names the thread's first context window (the loaded thread's `initial_window_id`); `git`
    is what `git_info.collect_git_info` found for its cwd (None outside a repository)."""
    return session_meta.session_meta_line(
        record.id,
        session_id=record.session_id,
        created_at_ms=record.created_at_ms,
        cwd=settings.cwd,
        runtime_workspace_roots=settings.runtime_workspace_roots,
        originator=record.originator,
        cli_version=record.cli_version,
        model_provider=settings.model_provider,
        history_mode=record.history_mode,
        window_id=window_id or uuid7(),
        base_instructions=settings.base_instructions,
        multi_agent_version=multi_agent_version,
        fork=fork,
        spawn=spawn,
        thread_source=None if spawn else record.thread_source,
        git=git,
    )
