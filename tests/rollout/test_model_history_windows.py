"""The model history across compactions: replacement items, context windows, world state and
the latest request's token usage, folded from hand-built rollout lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app_server.rollout.compacted_history import SUMMARY_PREFIX, message_text, summary_message
from app_server.rollout.context_windows import ContextWindow, derived_window_id
from app_server.rollout.model_history import ModelHistory, collect_model_history
from tests.store.rollout_builders import event, line, session_meta

THREAD = "01a20eeb-0000-7000-8000-0000000000d1"
BASE = "01a20eeb-0000-7000-8000-0000000000d2"


def message(role: str, text: str) -> dict[str, Any]:
    kind = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


ENVIRONMENT = message("user", "<environment_context>\n  <cwd>/work</cwd>\n</environment_context>")
Q1, A1 = message("user", "first question"), message("assistant", "first answer")
Q2, A2 = message("user", "second question"), message("assistant", "second answer")
Q3, A3 = message("user", "third question"), message("assistant", "third answer")
SUMMARY = summary_message("what happened so far")


def item(payload: dict[str, Any]) -> dict[str, Any]:
    return line("response_item", payload)


def token_count(last_total: int) -> dict[str, Any]:
    info = {
        "total_token_usage": {"input_tokens": last_total, "total_tokens": last_total},
        "last_token_usage": {"input_tokens": last_total, "total_tokens": last_total},
    }
    return line("event_msg", event("token_count", info=info))


def meta(thread_id: str = THREAD, **extra: Any) -> dict[str, Any]:
    return line("session_meta", session_meta(thread_id, mode="plain", **extra))


def windowed_meta(thread_id: str = THREAD, window_id: str = "w0") -> dict[str, Any]:
    return meta(thread_id, context_window={"window_id": window_id})


def two_turns() -> list[dict[str, Any]]:
    return [
        item(ENVIRONMENT),
        item(Q1),
        item(A1),
        token_count(100),
        item(Q2),
        item(A2),
        token_count(200),
    ]


def compacted(**fields: Any) -> dict[str, Any]:
    return line("compacted", {"message": "what happened so far", **fields})


WINDOW_1 = {
    "window_number": 1,
    "window_id": "w1",
    "first_window_id": "w0",
    "previous_window_id": "w0",
}


def fold(records: Sequence[dict[str, Any]]) -> ModelHistory:
    return collect_model_history(enumerate(records), lambda *_: None)


def compacted_thread() -> list[dict[str, Any]]:
    """Two turns, a compaction with a replacement history, then a third turn."""
    return [
        windowed_meta(),
        *two_turns(),
        compacted(replacement_history=[Q1, ENVIRONMENT, Q2, SUMMARY], **WINDOW_1),
        item(Q3),
        item(A3),
    ]


# --- (a) a compacted line with replacement_history ---------------------------------------------


def test_session_meta_context_window_is_window_zero() -> None:
    history = fold([windowed_meta(), *two_turns()])

    assert history.window == ContextWindow.initial("w0")


def test_compacted_line_replaces_earlier_items_with_its_replacement_history() -> None:
    history = fold(compacted_thread())

    assert history.items == [Q1, ENVIRONMENT, Q2, SUMMARY, Q3, A3]


def test_compacted_line_strips_rollout_only_fields_from_replacement_items() -> None:
    annotated = {**Q1, "internal_chat_message_metadata_passthrough": {"x": 1}}

    history = fold([windowed_meta(), compacted(replacement_history=[annotated], **WINDOW_1)])

    assert history.items == [Q1]


def test_compacted_line_starts_the_window_it_records() -> None:
    history = fold(compacted_thread())

    assert history.window == ContextWindow(1, "w1", "w0", "w0")


def test_compacted_line_resets_last_usage_tokens() -> None:
    history = fold(compacted_thread())

    assert history.last_usage_tokens is None


def test_token_count_before_a_compaction_sets_last_usage_tokens() -> None:
    history = fold([windowed_meta(), *two_turns()])

    assert history.last_usage_tokens == 200


def test_token_count_after_a_compaction_sets_last_usage_tokens() -> None:
    history = fold([*compacted_thread(), token_count(300)])

    assert history.last_usage_tokens == 300


def test_two_compactions_chain_the_window_lineage() -> None:
    window_2 = {
        "window_number": 2,
        "window_id": "w2",
        "first_window_id": "w0",
        "previous_window_id": "w1",
    }

    history = fold([*compacted_thread(), compacted(replacement_history=[Q3, SUMMARY], **window_2)])

    assert history.window == ContextWindow(2, "w2", "w0", "w1")
    assert history.items == [Q3, SUMMARY]


# --- (b) a legacy compacted line (summary message only) ----------------------------------------


def legacy_thread() -> list[dict[str, Any]]:
    return [windowed_meta(), *two_turns(), compacted(), item(Q3)]


def test_legacy_compacted_line_rebuilds_the_replacement_history() -> None:
    history = fold(legacy_thread())

    assert history.items[:-1] == [Q1, ENVIRONMENT, Q2, SUMMARY]
    assert history.items[-1] == Q3


def test_legacy_compacted_line_summary_opens_with_the_summary_prefix() -> None:
    history = fold(legacy_thread())

    summary = history.items[-2]
    assert message_text(summary).startswith(SUMMARY_PREFIX)
    assert message_text(summary).endswith("what happened so far")


def test_legacy_compacted_line_starts_window_one() -> None:
    history = fold(legacy_thread())

    assert history.window == ContextWindow(1, derived_window_id(THREAD, 1), "w0", "w0")


def test_legacy_compacted_line_window_id_is_the_same_on_every_read() -> None:
    assert fold(legacy_thread()).window == fold(legacy_thread()).window


def test_legacy_compacted_lines_are_counted() -> None:
    history = fold([*legacy_thread(), compacted(), compacted()])

    assert history.window is not None
    assert history.window.number == 3
    assert history.window.previous_window_id == derived_window_id(THREAD, 2)


def test_legacy_compacted_line_without_message_still_loads() -> None:
    history = fold([windowed_meta(), item(Q1), line("compacted", {})])

    assert history.items[0] == Q1
    assert message_text(history.items[-1]).startswith(SUMMARY_PREFIX)


# --- (c) a numeric window_id -------------------------------------------------------------------


def test_compacted_line_with_integer_window_id_gives_that_window_number() -> None:
    history = fold([windowed_meta(), *two_turns(), compacted(window_id=3)])

    assert history.window is not None
    assert history.window.number == 3
    assert history.window.window_id == derived_window_id(THREAD, 3)


# --- (d) world state ---------------------------------------------------------------------------


def world_state(state: dict[str, Any], *, full: bool) -> dict[str, Any]:
    return line("world_state", {"full": full, "state": state})


def test_world_state_lines_replay_to_the_merged_state() -> None:
    records = [
        windowed_meta(),
        world_state({"cwd": "/work", "env": {"a": "1", "b": "2"}, "date": "monday"}, full=True),
        *two_turns(),
        world_state({"env": {"b": None, "c": "3"}}, full=False),
        world_state({"date": "tuesday"}, full=False),
    ]

    history = fold(records)

    assert history.world_state.state == {
        "cwd": "/work",
        "env": {"a": "1", "c": "3"},
        "date": "tuesday",
    }


def test_world_state_snapshot_after_a_compaction_replaces_the_state() -> None:
    records = [
        windowed_meta(),
        world_state({"cwd": "/work", "date": "monday"}, full=True),
        compacted(replacement_history=[Q1, SUMMARY], **WINDOW_1),
        world_state({"cwd": "/other"}, full=True),
    ]

    assert fold(records).world_state.state == {"cwd": "/other"}


def test_world_state_patch_before_any_snapshot_is_ignored() -> None:
    history = fold([windowed_meta(), world_state({"cwd": "/work"}, full=False)])

    assert history.world_state.state is None


# --- (e) legacy session_meta -------------------------------------------------------------------


def test_legacy_session_meta_gives_window_zero_with_a_derived_id() -> None:
    history = fold([meta(), *two_turns()])

    assert history.window == ContextWindow.initial(derived_window_id(THREAD, 0))


# --- forks -------------------------------------------------------------------------------------


def test_fork_session_meta_starts_its_own_window_zero_after_base_lines() -> None:
    base = [windowed_meta(BASE, "base-w0"), *two_turns(), compacted(**WINDOW_1), item(Q3)]
    fork_meta = line(
        "session_meta",
        session_meta(
            THREAD,
            forked_from_id=BASE,
            history_base={"thread_id": BASE, "end_ordinal_exclusive": None},
            context_window={"window_id": "fork-w0"},
        ),
    )

    history = collect_model_history(
        enumerate([fork_meta, item(A3)]),
        lambda thread_id, _end: enumerate(base) if thread_id == BASE else None,
    )

    assert history.window == ContextWindow.initial("fork-w0")
    assert history.items[-2:] == [Q3, A3]
