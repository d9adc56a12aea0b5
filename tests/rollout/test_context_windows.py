"""Context windows: lineage across compactions and lenient reading of older records."""

from __future__ import annotations

from app_server.rollout.context_windows import ContextWindow, derived_window_id

THREAD = "01a20eeb-0000-7000-8000-0000000000a1"


def test_successor_lineage_across_two_compactions() -> None:
    first = ContextWindow.initial("w0")

    third = first.successor("w1").successor("w2")

    assert third.number == 2
    assert third.window_id == "w2"
    assert third.first_window_id == "w0"
    assert third.previous_window_id == "w1"


def test_initial_window_is_its_own_first_and_has_no_previous() -> None:
    assert ContextWindow.initial("w0") == ContextWindow(0, "w0", "w0", None)


def test_lineage_fields_name_the_new_window() -> None:
    window = ContextWindow.initial("w0").successor("w1")

    assert window.lineage_fields() == {
        "window_number": 1,
        "first_window_id": "w0",
        "previous_window_id": "w0",
        "window_id": "w1",
    }


def test_after_compacted_reads_back_the_lineage_fields_it_was_written_with() -> None:
    current = ContextWindow.initial("w0").successor("w1")
    successor = current.successor("w2")

    assert current.after_compacted(THREAD, successor.lineage_fields()) == successor


def test_after_compacted_with_full_fields_takes_them_as_recorded() -> None:
    current = ContextWindow.initial("w0")
    payload = {
        "window_number": 7,
        "window_id": "w7",
        "first_window_id": "first",
        "previous_window_id": "prev",
    }

    assert current.after_compacted(THREAD, payload) == ContextWindow(7, "w7", "first", "prev")


def test_after_compacted_without_fields_counts_the_compaction() -> None:
    current = ContextWindow.initial("w0").successor("w1")

    window = current.after_compacted(THREAD, {"message": "summary"})

    assert window.number == 2
    assert window.first_window_id == "w0"
    assert window.previous_window_id == "w1"


def test_after_compacted_without_fields_derives_a_stable_id() -> None:
    current = ContextWindow.initial("w0")

    first_read = current.after_compacted(THREAD, {})
    second_read = current.after_compacted(THREAD, {})

    assert first_read.window_id == derived_window_id(THREAD, 1)
    assert second_read == first_read


def test_derived_window_ids_differ_by_thread_and_number() -> None:
    ids = {
        derived_window_id(THREAD, 0),
        derived_window_id(THREAD, 1),
        derived_window_id("another-thread", 0),
    }

    assert len(ids) == 3


def test_after_compacted_numeric_window_id_is_the_window_number() -> None:
    window = ContextWindow.initial("w0").after_compacted(THREAD, {"window_id": 3})

    assert window.number == 3
    assert window.window_id == derived_window_id(THREAD, 3)
    assert window.previous_window_id == "w0"


def test_after_compacted_prefers_window_number_over_a_numeric_window_id() -> None:
    window = ContextWindow.initial("w0").after_compacted(
        THREAD, {"window_number": 4, "window_id": 3}
    )

    assert window.number == 4


def test_after_compacted_ignores_a_boolean_or_negative_window_number() -> None:
    current = ContextWindow.initial("w0")

    assert current.after_compacted(THREAD, {"window_number": True}).number == 1
    assert current.after_compacted(THREAD, {"window_number": -2}).number == 1


def test_from_session_meta_reads_the_recorded_window_id() -> None:
    meta = {"id": THREAD, "context_window": {"window_id": "w0"}}

    assert ContextWindow.from_session_meta(THREAD, meta) == ContextWindow.initial("w0")


def test_from_session_meta_without_context_window_derives_an_id() -> None:
    window = ContextWindow.from_session_meta(THREAD, {"id": THREAD})

    assert window == ContextWindow.initial(derived_window_id(THREAD, 0))


def test_header_value_is_thread_id_and_window_number() -> None:
    window = ContextWindow.initial("w0").successor("w1").successor("w2")

    assert window.header_value(THREAD) == f"{THREAD}:2"
