"""`ThreadRecord` building and the wire `Thread` made from it."""

from __future__ import annotations

from pathlib import Path

from app_server.store.local.thread_loader import read_stored_thread
from app_server.store.records import source_to_wire, thread_from_record
from protocol.types import IdleThreadStatus

SUB_AGENT = "01a20eeb-d97d-74f1-ae05-b6a6dc1ccdb5"
PARENT = "01a20eeb-d917-71c1-9a35-ec541d97bb05"
ARCHIVED = "01a20eeb-df7b-79e0-a00b-b3212f111f09"


def test_disk_sources_become_wire_sources() -> None:
    spawn = {"parent_thread_id": PARENT, "depth": 1}

    assert source_to_wire("vscode") == "vscode"
    assert source_to_wire("app_server") == "appServer"
    assert source_to_wire({"subagent": {"thread_spawn": spawn}}) == {
        "subAgent": {"thread_spawn": spawn}
    }
    assert source_to_wire({"subagent": "review"}) == {"subAgent": "review"}
    assert source_to_wire("something-new") == "unknown"


def test_sub_agent_record_comes_from_its_own_session_meta(codex_home: Path) -> None:
    stored = read_stored_thread(codex_home, SUB_AGENT)

    assert stored is not None
    record = stored.record
    assert record.session_id == PARENT
    assert record.parent_thread_id == PARENT
    assert record.thread_source == "subagent"
    assert (record.agent_nickname, record.agent_path) == ("Tesla", "/root/helper_task")
    assert (record.preview, record.title) == ("", "")
    assert record.source == {
        "subAgent": {
            "thread_spawn": {
                "parent_thread_id": PARENT,
                "depth": 1,
                "agent_path": "/root/helper_task",
                "agent_nickname": "Tesla",
                "agent_role": None,
            }
        }
    }


def test_record_carries_index_columns(codex_home: Path) -> None:
    stored = read_stored_thread(codex_home, "01a20eeb-d5ff-79e3-993a-c4b2b8b817ee")

    assert stored is not None
    record = stored.record
    assert record.rollout_path.startswith("sessions/2026/11/24/rollout-")
    assert record.approval_mode == "never"
    assert record.sandbox_policy == '{"type":"disabled"}'
    assert record.tokens_used > 0
    assert record.title == record.preview == "Run a command, then create notes.txt"
    assert record.last_turn_started_at_ms == 1795546666813


def test_archived_record_is_marked_archived(codex_home: Path) -> None:
    stored = read_stored_thread(codex_home, ARCHIVED)

    assert stored is not None
    assert stored.record.archived
    assert stored.record.archived_at_ms == stored.record.updated_at_ms
    assert stored.record.rollout_path.startswith("archived_sessions/")


def test_thread_status_defaults_to_not_loaded_and_can_be_given(codex_home: Path) -> None:
    stored = read_stored_thread(codex_home, ARCHIVED)
    assert stored is not None

    assert thread_from_record(stored.record, codex_home).status.type == "notLoaded"
    loaded = thread_from_record(stored.record, codex_home, status=IdleThreadStatus())
    assert loaded.status.type == "idle"
    assert loaded.turns == []
