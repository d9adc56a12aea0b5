"""The history fold: turns and metadata from rollout lines, lineage, tolerance, resumption."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app_server.rollout.history import HistoryFold, HistoryLineageError, fold_history
from app_server.store.local.thread_loader import read_stored_thread
from tests.store.rollout_builders import (
    event,
    line,
    paginated_turn,
    session_meta,
    write_rollout,
)

BASE = "01a20eeb-0000-7000-8000-00000000000b"
FORK = "01a20eeb-0000-7000-8000-00000000000f"
CHILD = "01a20eeb-0000-7000-8000-00000000000c"


def lines_of(records: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Records as `(offset, record)` pairs (offsets are positions; the fold does not care)."""
    return list(enumerate(records))


def base_records() -> list[dict[str, Any]]:
    return [
        line("session_meta", session_meta(BASE), 0),
        *paginated_turn(BASE, "t1", 1, "first question", "first answer"),
    ]


def fork_records(end_byte_offset: int) -> list[dict[str, Any]]:
    history_base = {
        "thread_id": BASE,
        "end_ordinal_exclusive": 5,
        "end_byte_offset": end_byte_offset,
    }
    return [
        line(
            "session_meta",
            session_meta(FORK, forked_from_id=BASE, history_base=history_base),
            5,
        ),
        *paginated_turn(FORK, "t2", 6, "fork question", "fork answer"),
    ]


def test_paginated_fork_history_is_base_prefix_plus_own_lines(tmp_path: Path) -> None:
    base_path = write_rollout(tmp_path, BASE, base_records())
    write_rollout(tmp_path, FORK, fork_records(base_path.stat().st_size))

    stored = read_stored_thread(tmp_path, FORK)

    assert stored is not None
    assert [entry.turn.id for entry in stored.turns()] == ["t1", "t2"]
    assert [entry.rollout_ordinal for entry in stored.turns()] == [1, 6]
    assert stored.record.forked_from_id == BASE
    assert stored.record.preview == "first question"
    assert stored.record.first_user_message == "fork question"
    assert stored.record.title == ""


def test_fork_base_may_be_archived_and_compressed(tmp_path: Path) -> None:
    base_path = write_rollout(tmp_path, BASE, base_records())
    size = base_path.stat().st_size
    base_path.unlink()
    write_rollout(tmp_path, BASE, base_records(), archived=True, compressed=True)
    write_rollout(tmp_path, FORK, fork_records(size))

    stored = read_stored_thread(tmp_path, FORK)

    assert stored is not None
    assert [entry.turn.id for entry in stored.turns()] == ["t1", "t2"]


def test_missing_fork_base_fails_closed_with_codex_message(tmp_path: Path) -> None:
    write_rollout(tmp_path, FORK, fork_records(1000))

    stored = read_stored_thread(tmp_path, FORK)

    assert stored is not None
    with pytest.raises(HistoryLineageError) as raised:
        stored.turns()
    assert str(raised.value) == (
        f"invalid paginated history lineage for {BASE}: missing source rollout"
    )


def test_missing_fork_base_still_allows_a_metadata_read(tmp_path: Path) -> None:
    write_rollout(tmp_path, FORK, fork_records(1000))

    stored = read_stored_thread(tmp_path, FORK)

    assert stored is not None
    assert stored.record.id == FORK
    assert stored.record.first_user_message == "fork question"


def test_fold_without_a_base_loader_fails_closed_for_a_fork() -> None:
    fold = fold_history(lines_of(fork_records(1000)))

    with pytest.raises(HistoryLineageError, match="missing source rollout"):
        fold.turns()


def test_fork_base_ending_at_the_wrong_ordinal_is_rejected(tmp_path: Path) -> None:
    write_rollout(tmp_path, BASE, base_records()[:3])
    write_rollout(tmp_path, FORK, fork_records(100_000))

    stored = read_stored_thread(tmp_path, FORK)

    assert stored is not None
    with pytest.raises(HistoryLineageError, match=f"lineage for {BASE}: source history ends"):
        stored.turns()


def test_malformed_history_base_is_unreadable_history_not_empty_history() -> None:
    meta = session_meta(FORK, history_base={"end_byte_offset": 3})
    fold = fold_history(lines_of([line("session_meta", meta, 0)]))

    with pytest.raises(HistoryLineageError, match=f"lineage for {FORK}: malformed history_base"):
        fold.turns()


def test_unknown_line_types_and_fields_are_ignored() -> None:
    records = [
        line("session_meta", {**session_meta(BASE), "brand_new_field": [1, 2]}, 0),
        line("hologram", {"anything": True}, 1),
        line("event_msg", event("quantum_event", x=1), 2),
        *paginated_turn(BASE, "t1", 3, "hello", "hi"),
        line("event_msg", event("item_completed", turn_id="t1", item={"type": "Teleport"}), 7),
    ]

    turns = fold_history(lines_of(records)).turns()

    assert [item.type for item in turns[0].turn.items] == ["userMessage", "agentMessage"]


def test_fold_is_resumable_line_by_line() -> None:
    records = [
        line("session_meta", session_meta(BASE), 0),
        *paginated_turn(BASE, "t1", 1, "one", "uno"),
        *paginated_turn(BASE, "t2", 5, "two", "dos"),
    ]
    whole = fold_history(lines_of(records))
    resumed = HistoryFold()
    resumed.feed_lines(lines_of(records)[:6])
    assert [entry.turn.status for entry in resumed.turns()] == ["completed", "inProgress"]

    resumed.feed_lines(lines_of(records)[6:])

    assert resumed.turns() == whole.turns()
    assert resumed.metadata() == whole.metadata()
    assert resumed.last_ordinal == 8


def test_last_session_meta_wins_for_mutable_fields_and_first_for_identity() -> None:
    records = [
        line("session_meta", session_meta(BASE, cwd="/old"), 0),
        line(
            "session_meta", {**session_meta(BASE, cwd="/new"), "timestamp": "2030-01-01T00:00:00Z"}
        ),
    ]

    metadata = fold_history(lines_of(records)).metadata()

    assert metadata.thread_id == BASE
    assert metadata.cwd == "/new"
    assert metadata.created_at_ms == 1795546666159


def test_legacy_fork_shows_the_copied_source_history() -> None:
    source_lines = [
        line("session_meta", session_meta(BASE, mode="legacy")),
        line("event_msg", event("task_started", turn_id="t1", started_at=1)),
        line("event_msg", event("user_message", message="copied question")),
        line("event_msg", event("agent_message", message="copied answer")),
        line("event_msg", event("task_complete", turn_id="t1")),
    ]
    records = [
        line("session_meta", session_meta(FORK, mode="legacy", forked_from_id=BASE, cwd="/fork")),
        *source_lines,
        line("event_msg", event("task_started", turn_id="t2", started_at=2)),
        line("event_msg", event("user_message", message="own question")),
        line("event_msg", event("task_complete", turn_id="t2")),
    ]

    fold = fold_history(lines_of(records))

    turns = [entry.turn for entry in fold.turns()]
    assert [turn.id for turn in turns] == ["t1", "t2"]
    assert [item.id for turn in turns for item in turn.items] == ["item-1", "item-2", "item-3"]
    assert fold.metadata().thread_id == FORK
    assert fold.metadata().cwd == "/fork"
    assert fold.metadata().preview == "copied question"


def test_sub_agent_hides_the_copied_parent_history() -> None:
    spawn = {"parent_thread_id": BASE, "depth": 1, "agent_path": "/root/x", "agent_nickname": "N"}
    records = [
        line(
            "session_meta",
            session_meta(
                CHILD,
                session_id=BASE,
                source={"subagent": {"thread_spawn": spawn}},
                thread_source="subagent",
                forked_from_id=BASE,
                parent_thread_id=BASE,
                subagent_history_start_ordinal=6,
            ),
            0,
        ),
        line("session_meta", session_meta(BASE, cwd="/parent"), 1),
        *paginated_turn(BASE, "parent-turn", 2, "parent question", "parent answer"),
        *paginated_turn(CHILD, "child-turn", 6, "", "child answer"),
    ]

    fold = fold_history(lines_of(records))

    assert [entry.turn.id for entry in fold.turns()] == ["child-turn"]
    metadata = fold.metadata()
    assert metadata.thread_id == CHILD
    assert metadata.session_id == BASE
    assert metadata.cwd == "/work"
    assert metadata.preview == ""
    assert metadata.agent_nickname == "N"
    assert metadata.parent_thread_id == BASE


def test_interrupted_failed_and_open_turns_keep_their_status() -> None:
    error = {"message": "boom", "codex_error_info": "context_window_exceeded"}
    records = [
        line("session_meta", session_meta(BASE), 0),
        line("event_msg", event("task_started", turn_id="a", started_at=1), 1),
        line("event_msg", event("turn_aborted", turn_id="a", reason="interrupted"), 2),
        line("event_msg", event("task_started", turn_id="b", started_at=2), 3),
        line("event_msg", event("task_complete", turn_id="b", error=error), 4),
        line("event_msg", event("task_started", turn_id="c", started_at=3), 5),
        line("event_msg", event("error", message="stream failed"), 6),
        line("event_msg", event("task_started", turn_id="d", started_at=4), 7),
    ]

    turns = [entry.turn for entry in fold_history(lines_of(records)).turns()]

    assert [turn.status for turn in turns] == ["interrupted", "failed", "failed", "inProgress"]
    assert turns[1].error is not None
    assert turns[1].error.model_dump(mode="json", exclude_none=True) == {
        "message": "boom",
        "codexErrorInfo": "contextWindowExceeded",
    }
    assert turns[2].error is not None
    assert turns[2].error.message == "stream failed"


def test_thread_rollback_drops_the_last_turns() -> None:
    records = [
        line("session_meta", session_meta(BASE), 0),
        *paginated_turn(BASE, "t1", 1, "one", "uno"),
        *paginated_turn(BASE, "t2", 5, "two", "dos"),
        line("event_msg", event("thread_rolled_back", num_turns=1), 9),
    ]

    turns = fold_history(lines_of(records)).turns()

    assert [entry.turn.id for entry in turns] == ["t1"]


def test_legacy_tool_events_become_items() -> None:
    records = [
        line("session_meta", session_meta(BASE, mode="legacy")),
        line("event_msg", event("user_message", message="run it")),
        line(
            "event_msg",
            event(
                "exec_command_end",
                call_id="call_1",
                command=["/bin/bash", "-lc", "ls -la"],
                cwd="/work",
                parsed_cmd=[{"type": "list_files", "cmd": "ls -la", "path": None}],
                aggregated_output="total 0\n",
                exit_code=0,
                duration={"secs": 1, "nanos": 2_500_000},
            ),
        ),
    ]

    turns = fold_history(lines_of(records)).turns()

    command = turns[0].turn.items[1].model_dump(mode="json")
    assert command["command"] == "/bin/bash -lc 'ls -la'"
    assert command["commandActions"] == [{"type": "listFiles", "command": "ls -la", "path": None}]
    assert command["durationMs"] == 1002
    assert command["status"] == "completed"
    assert turns[0].turn.id == "turn-1"


def test_a_trailing_response_item_still_dates_the_last_line_and_counts_its_ordinal() -> None:
    records = [
        line("session_meta", session_meta(BASE), 0),
        *paginated_turn(BASE, "t1", 1, "question", "answer"),
        {
            "timestamp": "2026-11-24T19:00:00.500Z",
            "ordinal": 5,
            "type": "response_item",
            "payload": {"type": "message", "role": "assistant", "content": []},
        },
    ]

    fold = fold_history(lines_of(records))

    assert fold.metadata().last_line_at_ms == 1795546800500
    assert fold.last_ordinal == 5
    assert [entry.turn.id for entry in fold.turns()] == ["t1"]


def test_a_fold_that_stops_keeping_items_keeps_the_turns_it_handed_out() -> None:
    fold = fold_history(lines_of(base_records()))
    handed_out = fold.turns()

    fold.stop_keeping_items()
    fold.feed_lines(lines_of(paginated_turn(BASE, "t2", 5, "later question", "later answer")))

    assert [len(entry.turn.items) for entry in handed_out] == [2]
    assert [(entry.turn.id, len(entry.turn.items)) for entry in fold.turns()] == [
        ("t1", 0),
        ("t2", 0),
    ]
