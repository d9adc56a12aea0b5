"""Making a spawned agent's thread: its record, its rollout's first lines, its loaded state.

A child is a real thread (STORAGE.md §3.3): `session_meta` with source `thread_spawn` (parent,
depth, agent path, nickname, role), the session tree's root as `session_id`, `thread_source:
"subagent"`. A child that inherits its parent's conversation (`fork_turns: "all"`, v1
`fork_context`) carries a copy of the parent's model history after its `session_meta`, marked by
`subagent_history_start_ordinal` so readers show only the child's own turns, as codex writes it.
Calls the parent had made but not yet answered (the spawn call itself) get an `aborted` output
in the copy, so the child's first request is a valid conversation.
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from app_server.agent.instructions import message
from app_server.agent.inter_agent import ROOT_AGENT_PATH
from app_server.agent.sub_agent_prompts import INHERITED_CONTEXT_NOTICE, team_instructions
from app_server.agent.tools.agent_control import AgentInfo, SpawnRequest
from app_server.ids import uuid7
from app_server.notification import now_ms
from app_server.rollout.lines import RolloutItem
from app_server.rollout.model_history import ModelHistory
from app_server.rollout.model_lines import response_item
from app_server.rollout.session_meta import ForkOrigin, SpawnOrigin
from app_server.store.records import ThreadRecord
from app_server.threads.git_info import collect_git_info, with_git
from app_server.threads.lifecycle import Lifecycle
from app_server.threads.loaded_thread import LoadedThread
from app_server.threads.manager import ThreadManager
from app_server.threads.session_meta import new_thread_record, session_meta_line

CALL_TYPES = {
    "function_call": "function_call_output",
    "custom_tool_call": "custom_tool_call_output",
}
ABORTED_CALL_OUTPUT = "aborted"
"""What the child's copy says for a call its parent had not answered yet (codex's text)."""


def inherited_history(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The parent's model history as the child inherits it: every call answered."""
    answered = {item.get("call_id") for item in history if item.get("type") in CALL_TYPES.values()}
    copy = list(history)
    for item in history:
        output_type = CALL_TYPES.get(str(item.get("type")))
        if output_type is not None and item.get("call_id") not in answered:
            copy.append(
                {"type": output_type, "call_id": item.get("call_id"), "output": ABORTED_CALL_OUTPUT}
            )
    return copy


def agent_depth(record: ThreadRecord) -> int:
    """0 for a root thread, else its `thread_spawn.depth`."""
    source = record.source
    if isinstance(source, dict):
        spawn = source.get("subAgent", {})
        if isinstance(spawn, dict) and isinstance(spawn.get("thread_spawn"), dict):
            depth = spawn["thread_spawn"].get("depth")
            if isinstance(depth, int):
                return depth
    return 1 if record.parent_thread_id else 0


def agent_path(thread: LoadedThread) -> str:
    """The thread's agent path (`/root` for a thread that was not spawned)."""
    if thread.record.agent_path:
        return thread.record.agent_path
    return ROOT_AGENT_PATH


async def create_child(
    manager: ThreadManager,
    parent: LoadedThread,
    request: SpawnRequest,
    planned: AgentInfo,
    *,
    slots: int,
) -> LoadedThread:
    """Write the child's first lines and load it (it has no turn yet)."""
    settings = parent.settings
    if request.model:
        settings = replace(settings, model=request.model)
    if request.effort:
        settings = replace(settings, reasoning_effort=request.effort)
    prefix: list[dict[str, Any]] = []
    if request.fork_history:
        prefix = inherited_history(request.history)
        prefix.append(message("developer", INHERITED_CONTEXT_NOTICE, f"msg_{uuid7()}"))
    if parent.multi_agent_version == "v2":
        instructions = team_instructions(planned.path, slots)
        prefix.append(message("developer", instructions, f"msg_{uuid7()}"))
    spawn = SpawnOrigin(
        parent_thread_id=parent.id,
        session_id=parent.record.session_id,
        depth=agent_depth(parent.record) + 1,
        agent_path=planned.path,
        nickname=planned.nickname,
        role=planned.role,
        history_start_ordinal=1 + len(prefix) if request.fork_history else None,
    )
    created_at_ms = now_ms()
    record = new_thread_record(
        planned.thread_id,
        created_at_ms=created_at_ms,
        settings=settings,
        originator=parent.record.originator or "",
        history_mode="paginated",
        rollout_path=manager.store.rollout_path_for(planned.thread_id, created_at_ms),
        fork=ForkOrigin(parent.id) if request.fork_history else None,
        spawn=spawn,
    )
    git = await collect_git_info(settings.cwd)  # codex's rollout recorder asks for every thread
    record = with_git(record, git)
    writer = await manager.store.create_writer(
        planned.thread_id, created_at_ms=created_at_ms, history_mode="paginated"
    )
    window_id = uuid7()
    lines: list[RolloutItem] = [
        session_meta_line(
            record,
            settings,
            ForkOrigin(parent.id) if request.fork_history else None,
            spawn=spawn,
            multi_agent_version=parent.multi_agent_version,
            window_id=window_id,
            git=git,
        )
    ]
    lines.extend(response_item(item) for item in prefix)
    try:
        writer.append(lines)
        await writer.flush()
    except BaseException:
        await writer.close()  # release its lock; the reconciliation scan indexes what was written
        raise
    child = LoadedThread(
        record,
        settings,
        Lifecycle.STORED,
        writer=writer,
        multi_agent_version=parent.multi_agent_version,
        opening_context=not request.fork_history,
        initial_window_id=window_id,
    )
    child.model_history = ModelHistory(items=prefix, base_instructions=settings.base_instructions)
    manager.adopt(child)
    return child
