"""Turns kept and sent as their wire JSON (issue 17) mean the same as the models they replace.

A history read keeps finished turns as JSON (`rollout.pending_turn`) and `thread/read` splices
that JSON into the response (`render_response_with_turns`); both rely on a turn rendering the
same for every kind of connection and on the JSON turning back into the same model.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pydantic
import pytest

import protocol.types as wire
from app_server.notification import render_response, render_response_with_turns
from app_server.rollout.history import HistoryFold, fold_history
from app_server.rollout.turn_entry import TurnEntry, render_turn
from app_server.store.records import build_thread_record, thread_from_record
from protocol.types import Thread, ThreadReadResponse, Turn, UserMessageThreadItem
from protocol.wire_model import ExperimentalFieldsModel
from tests.store.rollout_builders import event, line, paginated_turn, session_meta, user_item

THREAD = "019ab6d7-0000-7000-8000-000000000001"


def models_in(annotation: Any, seen: set[type[pydantic.BaseModel]]) -> None:
    """Every pydantic model reachable from a field annotation of the generated protocol."""
    if isinstance(annotation, typing.ForwardRef):
        annotation = annotation.__forward_arg__
    if isinstance(annotation, str):
        annotation = eval(annotation, vars(wire))  # a name of the generated module
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return
    if origin is not None:
        for argument in typing.get_args(annotation):
            models_in(argument, seen)
        return
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        for field in annotation.model_fields.values():
            models_in(field.annotation, seen)
    elif hasattr(annotation, "__value__"):
        models_in(annotation.__value__, seen)


def test_no_model_in_a_turn_has_experimental_fields_or_custom_serializers() -> None:
    seen: set[type[pydantic.BaseModel]] = set()
    models_in(Turn, seen)

    assert len(seen) > 20  # the walk reached the items and their parts
    assert [model for model in seen if issubclass(model, ExperimentalFieldsModel)] == []
    decorated = [
        model
        for model in seen
        if model.__pydantic_decorators__.model_serializers
        or model.__pydantic_decorators__.field_serializers
    ]
    assert decorated == []


def folded() -> HistoryFold:
    records = [
        line("session_meta", session_meta(THREAD), 0),
        *paginated_turn(THREAD, "t1", 1, 'one \u00e9\u6f22 "quoted" \\', "uno"),
        *paginated_turn(THREAD, "t2", 5, 'say "turns":[] please', "dos"),
        line("event_msg", event("task_started", turn_id="t3", started_at=7), 9),
    ]
    return fold_history([(index, record) for index, record in enumerate(records)])


def folded_entries() -> list[TurnEntry]:
    return folded().turns()


def a_thread() -> Thread:
    """The folded thread's wire `Thread`, without turns."""
    record = build_thread_record(
        folded().metadata(), rollout_path="sessions/x.jsonl", archived=False, updated_at_ms=1
    )
    return thread_from_record(record, Path("/data"))


def test_a_finished_turn_is_kept_as_json_that_parses_back_to_the_same_turn() -> None:
    entries = folded_entries()

    assert [entry.turn_id for entry in entries] == ["t1", "t2", "t3"]
    for entry in entries:
        assert render_turn(entry.turn) == entry.turn_json()
        assert Turn.model_validate_json(entry.turn_json()) == entry.turn


@pytest.mark.parametrize("experimental", [False, True])
def test_spliced_turns_render_exactly_as_the_whole_model(experimental: bool) -> None:
    entries = folded_entries()
    thread = a_thread()
    whole = ThreadReadResponse(
        thread=thread.model_copy(update={"turns": [entry.turn for entry in entries]}),
        read_state=None,
    )
    empty = ThreadReadResponse(thread=thread, read_state=None)

    spliced = render_response_with_turns(
        7, empty, [entry.turn_json() for entry in entries], experimental=experimental
    )

    assert spliced == render_response(7, whole, experimental=experimental)


def test_splicing_needs_exactly_one_empty_turns_list() -> None:
    thread = a_thread()
    full = ThreadReadResponse(
        thread=thread.model_copy(update={"turns": [entry.turn for entry in folded_entries()]}),
        read_state=None,
    )

    with pytest.raises(ValueError, match="exactly one empty `turns` list"):
        render_response_with_turns(1, full, [], experimental=True)


def test_an_item_completed_after_its_turn_ended_still_joins_that_turn() -> None:
    records = [
        line("session_meta", session_meta(THREAD), 0),
        *paginated_turn(THREAD, "t1", 1, "one", "uno"),
        *paginated_turn(THREAD, "t2", 5, "two", "dos"),
        line(
            "event_msg",
            event("item_completed", thread_id=THREAD, turn_id="t1", item=user_item("late", "x")),
            9,
        ),
    ]

    entries = fold_history([(index, record) for index, record in enumerate(records)]).turns()

    first = entries[0].turn
    assert [item.id for item in first.items] == ["u-t1", "a-t1", "late"]
    assert isinstance(first.items[2], UserMessageThreadItem)
    assert first.status == "completed"
    assert dict(entries[0].item_ordinals) == {"u-t1": 2, "a-t1": 3, "late": 9}
    assert [item.id for item in entries[1].turn.items] == ["u-t2", "a-t2"]
