"""Items and turns the history fold renders with orjson are byte for byte what the models give.

`rendered_items` renders the common core items without building their pydantic models, and
`PendingTurn.render` renders a turn without its `Turn` model. Both must say exactly what the
model path says: the same bytes, and no item where the model path drops one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from app_server.rollout.item_mapping import thread_item_from_core
from app_server.rollout.pending_turn import FoldedItem, PendingTurn
from app_server.rollout.rendered_items import rendered_item_from_core
from app_server.rollout.turn_entry import render_turn
from protocol.types import ThreadItem, TurnError

THREAD_ITEM: TypeAdapter[ThreadItem] = TypeAdapter(ThreadItem)

# What a rollout line can hold after orjson.loads: any code point but lone surrogates.
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
numbers = st.one_of(
    st.integers(min_value=-(2**31) - 2, max_value=2**31 + 2),
    st.integers(min_value=-(2**63) - 2, max_value=2**63 + 2),
    st.sampled_from([0, 1, -1, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63)]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.floats(allow_nan=False), text)

STATUSES = ["completed", "in_progress", "InProgress", "failed", "declined", "x"]

Noise = Callable[[st.SearchStrategy[Any]], st.SearchStrategy[Any]]


def sometimes_anything(expected: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value of the expected kind most of the time, and sometimes anything else."""
    return st.one_of(*[expected] * 9, scalars)


def never(expected: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Only values of the expected kind (so the fast paths are taken often)."""
    return expected


def core_items(noise: Noise) -> st.SearchStrategy[dict[str, Any]]:
    """Core items of the kinds `rendered_items` renders itself, with `noise` in their values."""
    some_text = noise(text)
    some_int = noise(st.one_of(st.none(), st.integers(min_value=0, max_value=2**40), numbers))
    optional_text = st.one_of(st.none(), some_text)
    entry = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["text"] * 6 + ["image", "local_image", "mention", "x"]),
            "text": some_text,
        },
        optional={
            "text_elements": st.one_of(
                st.just([]),
                st.just([]),
                st.lists(
                    st.fixed_dictionaries(
                        {"byte_range": st.fixed_dictionaries({"start": numbers, "end": numbers})}
                    ),
                    max_size=1,
                ),
            ),
            "path": some_text,
            "name": some_text,
            "detail": some_text,
            "image_url": some_text,
        },
    )
    user_message = st.fixed_dictionaries(
        {
            "type": st.just("UserMessage"),
            "id": some_text,
            "content": noise(st.lists(entry, max_size=3)),
        },
        optional={"client_id": optional_text},
    )
    part = st.fixed_dictionaries(
        {"type": st.sampled_from(["Text", "text", "Other"])}, optional={"text": some_text}
    )
    agent_message = st.fixed_dictionaries(
        {"type": st.just("AgentMessage"), "id": some_text},
        optional={
            "content": st.one_of(st.lists(part, max_size=3), st.none()),
            "phase": noise(
                st.sampled_from([None, "commentary", "partial_answer", "final_answer", "x"])
            ),
            "memory_citation": st.one_of(
                st.none(),
                st.none(),
                st.fixed_dictionaries({"entries": st.just([]), "rollout_ids": st.just([])}),
            ),
        },
    )
    strings = noise(st.one_of(st.lists(some_text, max_size=3), st.none()))
    reasoning = st.fixed_dictionaries(
        {"type": st.just("Reasoning"), "id": some_text},
        optional={"summary_text": strings, "raw_content": strings},
    )
    action = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["read", "list_files", "listFiles", "search", "unknown", "x"]),
            "cmd": some_text,
            "name": some_text,
            "path": some_text,
        },
        optional={"command": some_text, "query": optional_text},
    )
    duration = st.one_of(
        st.none(),
        st.fixed_dictionaries({"secs": some_int, "nanos": some_int}),
        st.fixed_dictionaries({"secs": some_int, "nanos": some_int}),
        st.integers(min_value=-(2**64), max_value=2**64),
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    )
    command_execution = st.fixed_dictionaries(
        {
            "type": st.just("CommandExecution"),
            "id": some_text,
            "command": st.one_of(st.lists(text, max_size=3), some_text),
            "cwd": st.one_of(some_text, st.just("file:///w%20x/y")),
            "status": noise(st.sampled_from(STATUSES)),
        },
        optional={
            "process_id": optional_text,
            "source": noise(
                st.sampled_from(
                    ["agent", "user_shell", "unified_exec_startup", "unified_exec_interaction", "z"]
                )
            ),
            "parsed_cmd": noise(st.lists(action, max_size=3)),
            "aggregated_output": optional_text,
            "exit_code": some_int,
            "duration": duration,
            "plugin_id": optional_text,
            "script_path": optional_text,
        },
    )
    return st.one_of(user_message, agent_message, reasoning, command_execution)


any_core_item = st.one_of(core_items(sometimes_anything), core_items(never))
timestamps = st.one_of(st.none(), st.integers(min_value=0, max_value=2**45), scalars)


def model_rendering(item: dict[str, Any], started: Any, completed: Any) -> bytes | None:
    model = thread_item_from_core(item, started_at_ms=started, completed_at_ms=completed)
    return None if model is None else THREAD_ITEM.dump_json(model)


@settings(max_examples=1500)
@given(item=any_core_item, started=timestamps, completed=timestamps)
def test_a_rendered_core_item_is_what_its_model_renders(
    item: dict[str, Any], started: Any, completed: Any
) -> None:
    rendered = rendered_item_from_core(item, started_at_ms=started, completed_at_ms=completed)
    expected = model_rendering(item, started, completed)
    assert (rendered.json if rendered is not None else None) == expected
    if rendered is not None:
        model = rendered.model()
        assert (rendered.id, rendered.type) == (model.id, model.type)


@settings(max_examples=200)
@given(
    items=st.lists(any_core_item, max_size=4),
    status=st.sampled_from(["completed", "interrupted", "failed", "inProgress"]),
    times=st.tuples(timestamps, timestamps, timestamps),
    root=st.one_of(st.none(), text),
    error=st.one_of(st.none(), text),
)
def test_a_rendered_turn_is_what_its_model_renders(
    items: list[dict[str, Any]],
    status: Any,
    times: tuple[Any, Any, Any],
    root: str | None,
    error: str | None,
) -> None:
    folded: list[FoldedItem] = []
    for index, core in enumerate(items):
        rendered = rendered_item_from_core(core, started_at_ms=index, completed_at_ms=None)
        if rendered is not None:
            # Legacy events keep their items as models: turns mix both kinds.
            folded.append(rendered if index % 2 else rendered.model())
    numbers = [value if type(value) is int else None for value in times]
    turn = PendingTurn(
        id="turn-1",
        root_turn_id=root,
        rollout_ordinal=None,
        status=status,
        error=None if error is None else TurnError(message=error),
        started_at=numbers[0],
        completed_at=numbers[1],
        duration_ms=numbers[2],
        items=folded,
    )
    try:
        expected: bytes | Exception = render_turn(turn.to_turn())
    except ValueError as refused:  # out-of-range times: the model refuses the turn
        expected = refused
    if isinstance(expected, Exception):
        try:
            turn.render()
        except ValueError:
            return
        raise AssertionError("the rendering accepted a turn its model refuses")
    assert turn.render() == expected
