"""A resume folds the model history without its items and the first turn reads the items alone,
from the last compaction on: together they are the model history a whole read gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app_server.rollout.model_history import (
    ModelHistory,
    ModelHistoryFold,
    collect_model_history,
    collect_model_items,
)
from tests.rollout.test_model_history_windows import (
    ENVIRONMENT,
    WINDOW_1,
    compacted,
    item,
    message,
    token_count,
    windowed_meta,
)
from tests.store.rollout_builders import line

Lines = list[tuple[int, dict[str, Any]]]


def at_offsets(records: list[dict[str, Any]]) -> Lines:
    """The records with made-up, increasing byte offsets (one line = 100 bytes)."""
    return [(index * 100, record) for index, record in enumerate(records)]


def split_read(lines: Lines) -> ModelHistory:
    """What a resume and the thread's first turn read: the summary, then the items alone from
    `items_from` (or, without a usable compaction, the whole file again)."""
    summary = ModelHistoryFold(lambda *_: None, keep_items=False)
    for offset, record in lines:
        summary.feed(record, offset)
    assert summary.history.items == []
    if summary.items_from is None:
        return collect_model_history(lines, lambda *_: None)
    start = summary.items_from
    summary.history.items = collect_model_items([(o, r) for o, r in lines if o >= start])
    return summary.history


def facts(history: ModelHistory) -> tuple[Any, ...]:
    return (
        history.items,
        history.token_totals,
        history.base_instructions,
        history.multi_agent_version,
        history.window,
        history.world_state.state,
        history.last_usage_tokens,
        history.last_token_usage,
        history.model_context_window,
    )


texts = st.text(max_size=8)
response_items = st.builds(
    lambda role, text: item(message(role, text)), st.sampled_from(["user", "assistant"]), texts
)
replacements = st.lists(
    st.builds(lambda text: message("user", text), texts), min_size=0, max_size=3
)
compactions = st.one_of(
    st.builds(lambda r: compacted(replacement_history=r, **WINDOW_1), replacements),
    st.builds(lambda r: compacted(replacement_history=r), replacements),
    st.just(compacted()),  # an old line: the summary only, rebuilt from the history before it
)
other_lines = st.one_of(
    st.builds(token_count, st.integers(min_value=0, max_value=10**6)),
    st.builds(
        lambda state: line("world_state", {"full": False, "state": state}),
        st.dictionaries(st.sampled_from(["cwd", "date"]), texts, max_size=2),
    ),
    st.just(windowed_meta(window_id="later")),  # a later session_meta of the thread itself
)
bodies = st.lists(
    st.one_of(response_items, response_items, response_items, compactions, other_lines),
    max_size=25,
)


@settings(max_examples=300)
@given(body=bodies)
def test_the_summary_and_the_items_from_the_last_compaction_are_the_whole_history(
    body: list[dict[str, Any]],
) -> None:
    lines = at_offsets([windowed_meta(), item(ENVIRONMENT), *body])

    assert facts(split_read(lines)) == facts(collect_model_history(lines, lambda *_: None))


def test_items_are_read_from_the_last_compaction_that_carries_its_replacement() -> None:
    replaced = compacted(replacement_history=[message("user", "kept")], **WINDOW_1)
    lines = at_offsets([windowed_meta(), item(ENVIRONMENT), replaced, item(message("user", "b"))])
    summary = ModelHistoryFold(lambda *_: None, keep_items=False)
    for offset, record in lines:
        summary.feed(record, offset)

    assert summary.items_from == 200


def test_an_old_compaction_without_its_replacement_needs_the_whole_history() -> None:
    replaced = compacted(replacement_history=[message("user", "kept")], **WINDOW_1)
    lines = at_offsets([windowed_meta(), replaced, item(message("user", "b")), compacted()])
    summary = ModelHistoryFold(lambda *_: None, keep_items=False)
    for offset, record in lines:
        summary.feed(record, offset)

    assert summary.items_from is None
