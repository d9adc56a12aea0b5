"""Persisted core TurnItems (`item_completed`) map to the wire items codex shows."""

from __future__ import annotations

from typing import Any

from app_server.rollout.item_mapping import thread_item_from_core


def wire(item: dict[str, Any]) -> dict[str, Any]:
    mapped = thread_item_from_core(item, started_at_ms=1, completed_at_ms=2)
    assert mapped is not None
    dumped: dict[str, Any] = mapped.model_dump(mode="json")
    return dumped


def test_command_execution_shows_a_quoted_command_and_a_plain_cwd() -> None:
    item = wire(
        {
            "type": "CommandExecution",
            "id": "call_1",
            "command": ["/bin/bash", "-lc", "cat notes.txt | wc -l"],
            "cwd": "file:///tmp/my%20dir",
            "parsed_cmd": [
                {"type": "read", "cmd": "cat 'a b.txt'", "name": "a b.txt", "path": "a b.txt"}
            ],
            "status": "failed",
            "aggregated_output": "",
            "exit_code": 1,
            "duration": {"secs": 2, "nanos": 999_999},
        }
    )

    assert item["command"] == "/bin/bash -lc 'cat notes.txt | wc -l'"
    assert item["cwd"] == "/tmp/my dir"
    assert item["commandActions"] == [
        {
            "type": "read",
            "command": "cat 'a b.txt'",
            "name": "a b.txt",
            "path": "/tmp/my dir/a b.txt",
        }
    ]
    assert (item["status"], item["aggregatedOutput"], item["durationMs"]) == ("failed", None, 2000)
    assert item["source"] == "agent"


def test_file_changes_are_sorted_by_path_and_moves_are_described() -> None:
    item = wire(
        {
            "type": "FileChange",
            "id": "call_2",
            "changes": {
                "/w/z.txt": {"type": "delete", "content": "gone\n"},
                "/w/a.txt": {
                    "type": "update",
                    "unified_diff": "@@ -1 +1 @@\n",
                    "move_path": "/w/b.txt",
                },
            },
            "status": "completed",
        }
    )

    assert item["changes"] == [
        {
            "path": "/w/a.txt",
            "kind": {"type": "update", "move_path": "/w/b.txt"},
            "diff": "@@ -1 +1 @@\n\n\nMoved to: /w/b.txt",
        },
        {"path": "/w/z.txt", "kind": {"type": "delete"}, "diff": "gone\n"},
    ]


def test_sleep_extension_becomes_a_sleep_item() -> None:
    item = wire({"type": "Extension", "kind": "clock.sleep", "id": "call_9", "durationMs": 300})

    assert item == {
        "type": "sleep",
        "id": "call_9",
        "durationMs": 300,
        "startedAtMs": 1,
        "completedAtMs": 2,
    }


def test_other_extensions_are_skipped() -> None:
    assert thread_item_from_core({"type": "Extension", "kind": "x.y", "id": "e"}) is None


def test_collab_spawn_reports_agent_states() -> None:
    item = wire(
        {
            "type": "CollabAgentToolCall",
            "id": "call_19",
            "tool": "spawn_agent",
            "status": "completed",
            "sender_thread_id": "parent",
            "receiver_thread_ids": ["child"],
            "prompt": "task",
            "model": "m",
            "reasoning_effort": "medium",
            "agents_states": {"child": "pending_init", "other": {"completed": "done"}},
        }
    )

    assert item["tool"] == "spawnAgent"
    assert item["agentsStates"] == {
        "child": {"status": "pendingInit", "message": None},
        "other": {"status": "completed", "message": "done"},
    }


def test_malformed_items_are_skipped() -> None:
    assert thread_item_from_core({"type": "AgentMessage"}) is None
    assert thread_item_from_core({"type": "SubAgentActivity", "id": "x", "kind": "started"}) is None
