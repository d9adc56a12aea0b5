"""A factory of `ThreadRecord`s for index tests: every field set, each overridable."""

from __future__ import annotations

from typing import Any

import msgspec

from app_server.store.records import ThreadRecord

BASE_MS = 1_795_546_666_000
"""2026-11-24T18:57:46Z, around the codex fixture's threads."""
CWD = "/work/project"
PROVIDER = "openai"


def thread_id(n: int) -> str:
    """A uuid-shaped id whose text order is the order of `n`."""
    return f"01a20eeb-0000-7000-8000-{n:012x}"


def make_record(n: int, **changes: Any) -> ThreadRecord:
    """Thread number `n`: visible (non-empty preview), `vscode`, live, created at `BASE_MS + n s`.

    `changes` replaces any field (`parent_thread_id=…`, `preview=""`, …).
    """
    created = BASE_MS + n * 1000
    record = ThreadRecord(
        id=thread_id(n),
        session_id=thread_id(n),
        rollout_path=f"sessions/2026/11/24/rollout-2026-11-24T18-57-46-{thread_id(n)}.jsonl",
        created_at_ms=created,
        updated_at_ms=created + 500,
        recency_at_ms=created + 250,
        source="vscode",
        thread_source=None,
        parent_thread_id=None,
        forked_from_id=None,
        attached_to_thread_id=None,
        model_provider=PROVIDER,
        model="gpt-test",
        reasoning_effort="medium",
        cwd=CWD,
        title=f"thread {n}",
        preview=f"thread {n}",
        first_user_message=f"thread {n}",
        name=None,
        approval_mode="on-request",
        sandbox_policy='{"type":"workspace-write"}',
        tokens_used=10 * n,
        has_user_event=True,
        archived=False,
        archived_at_ms=None,
        git_sha=None,
        git_branch=None,
        git_origin_url=None,
        cli_version="0.169.0",
        agent_nickname=None,
        agent_role=None,
        agent_path=None,
        history_mode="paginated",
        originator="test",
        memory_mode="enabled",
        last_turn_started_at_ms=created + 250,
    )
    return msgspec.structs.replace(record, **changes)


def sub_agent(n: int, parent: str, **changes: Any) -> ThreadRecord:
    """A spawned sub-agent of `parent`: thread-spawn source, no preview (hidden by default)."""
    source = {
        "subAgent": {
            "thread_spawn": {
                "parent_thread_id": parent,
                "depth": 1,
                "agent_path": None,
                "agent_nickname": None,
                "agent_role": None,
            }
        }
    }
    defaults: dict[str, Any] = {
        "source": source,
        "thread_source": "subagent",
        "parent_thread_id": parent,
        "title": "",
        "preview": "",
        "first_user_message": "",
    }
    return make_record(n, **(defaults | changes))
