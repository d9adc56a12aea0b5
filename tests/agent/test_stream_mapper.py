"""`StreamMapper`, event by event: what each Responses streaming event becomes.

The mapper is fed one provider event at a time (AGENT_LOOP.md §3) and answers with effects:
notifications to emit, finished output items to persist, the end of the response, safety
buffering and moderation reports; a failure event raises `ProviderError`. Notifications are
compared as the exact wire JSON a client receives; time is a fake clock.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from app_server.agent import stream_mapper
from app_server.agent.providers.base import RESPONSE_HEADERS_EVENT, ProviderError
from app_server.agent.stream_mapper import (
    Effect,
    Emit,
    ModerationMetadata,
    OutputItemDone,
    ResponseCompleted,
    SafetyBuffering,
    StreamMapper,
    stream_ended_early,
)
from app_server.notification import method_of, render_model
from protocol.wire_model import WireModel

THREAD = "thread-1"
TURN = "turn-1"
USAGE = {
    "input_tokens": 100,
    "input_tokens_details": {"cached_tokens": 10},
    "output_tokens": 20,
    "output_tokens_details": {"reasoning_tokens": 5},
    "total_tokens": 120,
}


class Clock:
    """`now_ms` of the mapper: a time the test sets."""

    def __init__(self) -> None:
        self.ms = 1_000

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(stream_mapper, "now_ms", fake)
    return fake


@pytest.fixture
def mapper(clock: Clock) -> StreamMapper:
    return StreamMapper(THREAD, TURN)


# -- what the tests feed -------------------------------------------------------------------------
def message(item_id: str, *texts: str, **fields: Any) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []} for text in texts]
    return {"type": "message", "id": item_id, "role": "assistant", "content": content, **fields}


def reasoning(
    item_id: str, summary: list[str] | None = None, content: list[str] | None = None
) -> dict[str, Any]:
    return {
        "type": "reasoning",
        "id": item_id,
        "summary": [{"type": "summary_text", "text": text} for text in summary or []],
        "content": [{"type": "reasoning_text", "text": text} for text in content or []],
        "encrypted_content": "gAAAA-opaque",
    }


def function_call(call_id: str, name: str = "exec_command") -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": '{"cmd":"echo hi"}',
        "status": "completed",
    }


def added(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.added", "output_index": 0, "item": item}


def done(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.done", "output_index": 0, "item": item}


def text_delta(item_id: str, delta: Any) -> dict[str, Any]:
    return {
        "type": "response.output_text.delta",
        "item_id": item_id,
        "output_index": 0,
        "content_index": 0,
        "delta": delta,
    }


def summary_part(item_id: str, index: int) -> dict[str, Any]:
    return {
        "type": "response.reasoning_summary_part.added",
        "item_id": item_id,
        "summary_index": index,
    }


def summary_delta(item_id: str, index: int, delta: str) -> dict[str, Any]:
    return {
        "type": "response.reasoning_summary_text.delta",
        "item_id": item_id,
        "summary_index": index,
        "delta": delta,
    }


# -- what the tests expect -----------------------------------------------------------------------
def wire(params: WireModel | None) -> Any:
    """What a client receives (experimental fields included)."""
    return None if params is None else orjson.loads(render_model(params, experimental=True))


def shown(effects: list[Effect]) -> list[Any]:
    """Effects in a comparable form: a notification as `(method, params JSON)`, a finished item
    as `("done", item, thread item JSON, started, completed)`, anything else as it is."""
    out: list[Any] = []
    for effect in effects:
        if isinstance(effect, Emit):
            out.append((method_of(effect.params), wire(effect.params)))
        elif isinstance(effect, OutputItemDone):
            out.append(
                (
                    "done",
                    effect.item,
                    wire(effect.thread_item),
                    effect.started_at_ms,
                    effect.completed_at_ms,
                )
            )
        else:
            out.append(effect)
    return out


def feed_all(mapper: StreamMapper, *events: dict[str, Any]) -> list[Any]:
    effects: list[Effect] = []
    for event in events:
        effects.extend(mapper.feed(event))
    return shown(effects)


def agent_message(
    item_id: str,
    text: str,
    *,
    phase: str | None = None,
    started: int | None = None,
    completed: int | None = None,
) -> dict[str, Any]:
    return {
        "type": "agentMessage",
        "id": item_id,
        "text": text,
        "phase": phase,
        "delivery": None,
        "memoryCitation": None,
        "moderation": None,
        "questions": None,
        "startedAtMs": started,
        "completedAtMs": completed,
    }


def reasoning_item(
    item_id: str,
    summary: list[str],
    content: list[str],
    *,
    started: int | None = None,
    completed: int | None = None,
) -> dict[str, Any]:
    return {
        "type": "reasoning",
        "id": item_id,
        "summary": summary,
        "content": content,
        "startedAtMs": started,
        "completedAtMs": completed,
    }


def item_started(item: dict[str, Any], at: int) -> tuple[str, dict[str, Any]]:
    return ("item/started", {"threadId": THREAD, "turnId": TURN, "startedAtMs": at, "item": item})


def message_delta(item_id: str, delta: str) -> tuple[str, dict[str, Any]]:
    return (
        "item/agentMessage/delta",
        {"threadId": THREAD, "turnId": TURN, "itemId": item_id, "delta": delta},
    )


def part_added(item_id: str, index: int) -> tuple[str, dict[str, Any]]:
    return (
        "item/reasoning/summaryPartAdded",
        {"threadId": THREAD, "turnId": TURN, "itemId": item_id, "summaryIndex": index},
    )


def summary_text(item_id: str, index: int, delta: str) -> tuple[str, dict[str, Any]]:
    return (
        "item/reasoning/summaryTextDelta",
        {
            "threadId": THREAD,
            "turnId": TURN,
            "itemId": item_id,
            "summaryIndex": index,
            "delta": delta,
        },
    )


# -- agent messages ------------------------------------------------------------------------------
def test_a_message_item_added_emits_item_started_with_an_empty_agent_message(
    mapper: StreamMapper, clock: Clock
) -> None:
    clock.ms = 5_000
    assert feed_all(mapper, added(message("msg_1"))) == [
        item_started(agent_message("msg_1", "", started=5_000), at=5_000)
    ]


def test_a_started_agent_message_keeps_the_phase_of_its_item(mapper: StreamMapper) -> None:
    effects = feed_all(mapper, added(message("msg_1", phase="commentary")))
    assert effects == [
        item_started(agent_message("msg_1", "", phase="commentary", started=1_000), at=1_000)
    ]


def test_a_text_delta_of_an_open_message_is_emitted_as_an_agent_message_delta(
    mapper: StreamMapper,
) -> None:
    mapper.feed(added(message("msg_1")))
    assert feed_all(mapper, text_delta("msg_1", "Hel")) == [message_delta("msg_1", "Hel")]


def test_a_finished_message_is_an_agent_message_with_its_start_and_completion_times(
    mapper: StreamMapper, clock: Clock
) -> None:
    clock.ms = 1_000
    mapper.feed(added(message("msg_1")))
    mapper.feed(text_delta("msg_1", "Hel"))
    mapper.feed(text_delta("msg_1", "lo"))
    clock.ms = 1_250
    final = message("msg_1", "Hello", phase="final_answer")
    assert feed_all(mapper, done(final)) == [
        (
            "done",
            final,
            agent_message("msg_1", "Hello", phase="final_answer", started=1_000, completed=1_250),
            1_000,
            1_250,
        )
    ]


def test_a_finished_message_joins_its_output_text_parts_and_skips_other_parts(
    mapper: StreamMapper,
) -> None:
    mapper.feed(added(message("msg_1")))
    final = message("msg_1", "Hello ", "world")
    final["content"].insert(1, {"type": "refusal", "refusal": "no"})
    (effect,) = feed_all(mapper, done(final))
    assert effect[2]["text"] == "Hello world"


def test_a_finished_message_without_text_parts_takes_the_text_of_its_deltas(
    mapper: StreamMapper,
) -> None:
    mapper.feed(added(message("msg_1")))
    mapper.feed(text_delta("msg_1", "Hel"))
    mapper.feed(text_delta("msg_1", "lo"))
    (effect,) = feed_all(mapper, done(message("msg_1")))
    assert effect[2]["text"] == "Hello"


def test_the_text_of_a_finished_message_wins_over_its_deltas(mapper: StreamMapper) -> None:
    mapper.feed(added(message("msg_1")))
    mapper.feed(text_delta("msg_1", "draft"))
    (effect,) = feed_all(mapper, done(message("msg_1", "final")))
    assert effect[2]["text"] == "final"


def test_an_empty_text_delta_is_emitted_as_an_empty_delta_and_adds_no_text(
    mapper: StreamMapper,
) -> None:
    mapper.feed(added(message("msg_1")))
    assert feed_all(mapper, text_delta("msg_1", ""), text_delta("msg_1", None)) == [
        message_delta("msg_1", ""),
        message_delta("msg_1", ""),
    ]
    mapper.feed(text_delta("msg_1", "x"))
    (effect,) = feed_all(mapper, done(message("msg_1")))
    assert effect[2]["text"] == "x"


def test_an_item_completed_without_deltas_still_emits_started_then_completed(
    mapper: StreamMapper, clock: Clock
) -> None:
    final = message("msg_1", "Hi")
    assert feed_all(mapper, added(message("msg_1")), done(final)) == [
        item_started(agent_message("msg_1", "", started=1_000), at=1_000),
        ("done", final, agent_message("msg_1", "Hi", started=1_000, completed=1_000), 1_000, 1_000),
    ]


def test_an_item_completed_without_being_added_still_emits_started_then_completed(
    mapper: StreamMapper, clock: Clock
) -> None:
    """Codex emits `item/started` for an item whose `output_item.added` never came, so a
    client always sees started → completed (PROTOCOL.md §8.1)."""
    clock.ms = 2_000
    final = message("msg_1", "Hi")
    assert feed_all(mapper, done(final)) == [
        item_started(agent_message("msg_1", "", started=2_000), at=2_000),
        ("done", final, agent_message("msg_1", "Hi", started=2_000, completed=2_000), 2_000, 2_000),
    ]


def test_a_text_delta_before_its_item_opened_is_dropped_as_codex_does(
    mapper: StreamMapper,
) -> None:
    """Every delta belongs to an item a client saw start (PROTOCOL.md §8.1); codex drops an
    `OutputTextDelta without active item`, and so do we."""
    assert feed_all(mapper, text_delta("msg_1", "Hi")) == []
    assert mapper.open_item_ids == []


def test_a_text_delta_after_its_item_completed_is_not_emitted(mapper: StreamMapper) -> None:
    """Nothing follows an item's `item/completed` (codex drops such a delta)."""
    mapper.feed(added(message("msg_1")))
    mapper.feed(done(message("msg_1", "Hi")))
    assert feed_all(mapper, text_delta("msg_1", " again")) == []


# -- reasoning -----------------------------------------------------------------------------------
def test_a_reasoning_item_added_emits_item_started_with_empty_summary_and_content(
    mapper: StreamMapper, clock: Clock
) -> None:
    clock.ms = 3_000
    assert feed_all(mapper, added(reasoning("rs_1"))) == [
        item_started(reasoning_item("rs_1", [], [], started=3_000), at=3_000)
    ]


def test_reasoning_summary_parts_become_summary_indexes(mapper: StreamMapper) -> None:
    mapper.feed(added(reasoning("rs_1")))
    assert feed_all(
        mapper,
        summary_part("rs_1", 0),
        summary_delta("rs_1", 0, "**Plan** "),
        summary_delta("rs_1", 0, "first"),
        summary_part("rs_1", 1),
        summary_delta("rs_1", 1, "then"),
    ) == [
        part_added("rs_1", 0),
        summary_text("rs_1", 0, "**Plan** "),
        summary_text("rs_1", 0, "first"),
        part_added("rs_1", 1),
        summary_text("rs_1", 1, "then"),
    ]


def test_a_summary_event_without_an_index_is_about_summary_zero(mapper: StreamMapper) -> None:
    mapper.feed(added(reasoning("rs_1")))
    assert feed_all(
        mapper,
        {"type": "response.reasoning_summary_part.added", "item_id": "rs_1"},
        {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "delta": "x"},
    ) == [part_added("rs_1", 0), summary_text("rs_1", 0, "x")]


def test_raw_reasoning_text_deltas_keep_their_content_index(mapper: StreamMapper) -> None:
    mapper.feed(added(reasoning("rs_1")))
    event = {
        "type": "response.reasoning_text.delta",
        "item_id": "rs_1",
        "content_index": 2,
        "delta": "because",
    }
    assert feed_all(mapper, event) == [
        (
            "item/reasoning/textDelta",
            {
                "threadId": THREAD,
                "turnId": TURN,
                "itemId": "rs_1",
                "contentIndex": 2,
                "delta": "because",
            },
        )
    ]


def test_a_finished_reasoning_item_lists_its_summary_texts_and_raw_content_texts(
    mapper: StreamMapper, clock: Clock
) -> None:
    clock.ms = 1_000
    mapper.feed(added(reasoning("rs_1")))
    clock.ms = 1_400
    final = reasoning("rs_1", summary=["first", "then"], content=["raw"])
    assert feed_all(mapper, done(final)) == [
        (
            "done",
            final,
            reasoning_item("rs_1", ["first", "then"], ["raw"], started=1_000, completed=1_400),
            1_000,
            1_400,
        )
    ]


# -- several items, tool calls -------------------------------------------------------------------
def test_reasoning_then_message_then_tool_call_map_in_stream_order(
    mapper: StreamMapper, clock: Clock
) -> None:
    call = function_call("call_1")
    thought = reasoning("rs_1", summary=["s"])
    answer = message("msg_1", "ok")
    assert feed_all(
        mapper,
        added(reasoning("rs_1")),
        summary_part("rs_1", 0),
        summary_delta("rs_1", 0, "s"),
        done(thought),
        added(message("msg_1")),
        text_delta("msg_1", "ok"),
        done(answer),
        added(call),
        done(call),
    ) == [
        item_started(reasoning_item("rs_1", [], [], started=1_000), at=1_000),
        part_added("rs_1", 0),
        summary_text("rs_1", 0, "s"),
        (
            "done",
            thought,
            reasoning_item("rs_1", ["s"], [], started=1_000, completed=1_000),
            1_000,
            1_000,
        ),
        item_started(agent_message("msg_1", "", started=1_000), at=1_000),
        message_delta("msg_1", "ok"),
        (
            "done",
            answer,
            agent_message("msg_1", "ok", started=1_000, completed=1_000),
            1_000,
            1_000,
        ),
        ("done", call, None, 1_000, 1_000),
    ]


def test_deltas_of_items_open_at_once_go_to_their_own_item(mapper: StreamMapper) -> None:
    mapper.feed(added(message("msg_1")))
    mapper.feed(added(message("msg_2")))
    for item_id, delta in [("msg_1", "a"), ("msg_2", "B"), ("msg_1", "b"), ("msg_2", "C")]:
        mapper.feed(text_delta(item_id, delta))
    first = feed_all(mapper, done(message("msg_1")))
    second = feed_all(mapper, done(message("msg_2")))
    assert [first[0][2]["text"], second[0][2]["text"]] == ["ab", "BC"]


def test_items_may_complete_in_another_order_than_they_started(
    mapper: StreamMapper, clock: Clock
) -> None:
    clock.ms = 1_000
    mapper.feed(added(message("msg_1")))
    clock.ms = 1_100
    mapper.feed(added(reasoning("rs_2")))
    clock.ms = 1_200
    thought = feed_all(mapper, done(reasoning("rs_2", summary=["s"])))
    assert mapper.open_item_ids == ["msg_1"]
    clock.ms = 1_300
    answer = feed_all(mapper, done(message("msg_1", "late")))
    assert [(e[2]["id"], e[3], e[4]) for e in thought + answer] == [
        ("rs_2", 1_100, 1_200),
        ("msg_1", 1_000, 1_300),
    ]
    assert mapper.open_item_ids == []


def test_a_tool_call_added_emits_nothing(mapper: StreamMapper) -> None:
    assert feed_all(mapper, added(function_call("call_1"))) == []
    assert mapper.open_item_ids == ["fc_call_1"]


def test_a_finished_tool_call_is_persisted_without_a_thread_item(
    mapper: StreamMapper, clock: Clock
) -> None:
    call = function_call("call_1")
    clock.ms = 1_000
    mapper.feed(added(call))
    clock.ms = 1_050
    (effect,) = mapper.feed(done(call))
    assert isinstance(effect, OutputItemDone)
    assert (effect.item, effect.thread_item, effect.started_at_ms, effect.completed_at_ms) == (
        call,
        None,
        1_000,
        1_050,
    )
    assert effect.is_tool_call


@pytest.mark.parametrize(
    "call",
    [
        function_call("call_1"),
        {"type": "function_call", "call_id": "call_2", "namespace": "clock", "name": "sleep"},
        {"type": "custom_tool_call", "call_id": "call_3", "name": "apply_patch", "input": "*"},
        {"type": "local_shell_call", "call_id": "call_4", "action": {"type": "exec"}},
    ],
    ids=["function", "namespaced", "custom", "local_shell"],
)
def test_every_kind_of_call_finishes_as_a_tool_call(
    mapper: StreamMapper, call: dict[str, Any]
) -> None:
    (effect,) = mapper.feed(done(call))
    assert isinstance(effect, OutputItemDone)
    assert effect.is_tool_call
    assert effect.thread_item is None


@pytest.mark.parametrize("item", [message("msg_1", "x"), reasoning("rs_1", ["s"])])
def test_messages_and_reasoning_are_not_tool_calls(
    mapper: StreamMapper, item: dict[str, Any]
) -> None:
    effects = mapper.feed(done(item))
    assert [e.is_tool_call for e in effects if isinstance(e, OutputItemDone)] == [False]


def test_a_call_without_an_item_id_is_tracked_by_its_call_id(mapper: StreamMapper) -> None:
    mapper.feed(added({"type": "custom_tool_call", "call_id": "call_9", "name": "apply_patch"}))
    assert mapper.open_item_ids == ["call_9"]
    mapper.feed(done({"type": "custom_tool_call", "call_id": "call_9", "name": "apply_patch"}))
    assert mapper.open_item_ids == []


@pytest.mark.parametrize(
    "event",
    [
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": '{"c'},
        {"type": "response.custom_tool_call_input.delta", "item_id": "ctc_1", "delta": "***"},
    ],
    ids=["function_call_arguments", "custom_tool_call_input"],
)
def test_tool_call_argument_deltas_emit_nothing(
    mapper: StreamMapper, event: dict[str, Any]
) -> None:
    assert mapper.feed(event) == []


# -- interruption --------------------------------------------------------------------------------
def test_open_item_ids_lists_the_items_started_and_not_finished_in_start_order(
    mapper: StreamMapper,
) -> None:
    mapper.feed(added(reasoning("rs_1")))
    mapper.feed(added(message("msg_2")))
    mapper.feed(added(function_call("call_3")))
    mapper.feed(done(reasoning("rs_1")))
    assert mapper.open_item_ids == ["msg_2", "fc_call_3"]


def test_an_item_cut_off_mid_stream_stays_open_and_the_response_incomplete(
    mapper: StreamMapper,
) -> None:
    """What the turn sees when the stream is abandoned (interrupt, steer, disconnect): the
    half-streamed item is still open and nothing was finished for it."""
    effects = feed_all(mapper, added(message("msg_1")), text_delta("msg_1", "partial"))
    assert [method for method, _ in effects] == ["item/started", "item/agentMessage/delta"]
    assert mapper.open_item_ids == ["msg_1"]
    assert not mapper.completed


def test_a_stream_that_ends_without_completion_is_a_retryable_stream_error() -> None:
    error = stream_ended_early()
    assert (error.message, error.codex_error_info, error.retry) == (
        "stream disconnected before completion: stream closed before response.completed",
        "other",
        "stream",
    )


# -- the response --------------------------------------------------------------------------------
def test_response_completed_reports_its_id_and_usage_and_marks_the_stream_complete(
    mapper: StreamMapper,
) -> None:
    event = {"type": "response.completed", "response": {"id": "resp_1", "usage": USAGE}}
    assert mapper.feed(event) == [ResponseCompleted("resp_1", USAGE)]
    assert mapper.completed


def test_a_completion_without_an_id_uses_the_id_response_created_announced(
    mapper: StreamMapper,
) -> None:
    assert mapper.feed({"type": "response.created", "response": {"id": "resp_1"}}) == []
    assert mapper.feed({"type": "response.completed", "response": {}}) == [
        ResponseCompleted("resp_1", None)
    ]


def test_response_in_progress_updates_the_response_id(mapper: StreamMapper) -> None:
    mapper.feed({"type": "response.created", "response": {"id": "resp_1"}})
    mapper.feed({"type": "response.in_progress", "response": {"id": "resp_2"}})
    mapper.feed({"type": "response.in_progress", "response": {}})
    assert mapper.response_id == "resp_2"


def test_the_response_headers_event_keeps_the_headers_lower_cased_and_emits_nothing(
    mapper: StreamMapper,
) -> None:
    event = {"type": RESPONSE_HEADERS_EVENT, "headers": {"OpenAI-Model": "gpt-test", "X-N": 1}}
    assert mapper.feed(event) == []
    assert mapper.headers == {"openai-model": "gpt-test", "x-n": "1"}


@pytest.mark.parametrize(
    "event",
    [
        {"type": "response.queued", "response": {"id": "resp_1"}},
        {"type": "response.content_part.added", "item_id": "msg_1", "part": {}},
        {"type": "response.output_text.done", "item_id": "msg_1", "text": "Hi"},
        {"type": "response.reasoning_summary_text.done", "item_id": "rs_1", "text": "s"},
        {"type": "codex.response.metadata", "metadata": {}},
        {"type": "response.metadata"},
        {"delta": "no type at all"},
    ],
    ids=lambda event: str(event.get("type")),
)
def test_events_the_mapper_does_not_handle_are_ignored(
    mapper: StreamMapper, event: dict[str, Any]
) -> None:
    assert mapper.feed(event) == []
    assert (mapper.open_item_ids, mapper.completed) == ([], False)


# -- safety buffering, moderation ----------------------------------------------------------------
SAFETY = {"use_cases": ["cyber"], "reasons": ["policy-check"], "retry_model": "gpt-faster"}


def test_safety_buffering_on_response_created_is_reported(mapper: StreamMapper) -> None:
    event = {"type": "response.created", "response": {"id": "r"}, "safety_buffering": SAFETY}
    assert mapper.feed(event) == [SafetyBuffering(["cyber"], ["policy-check"], "gpt-faster")]


def test_safety_buffering_inside_the_response_object_is_reported(mapper: StreamMapper) -> None:
    event = {"type": "response.in_progress", "response": {"id": "r", "safety_buffering": SAFETY}}
    assert mapper.feed(event) == [SafetyBuffering(["cyber"], ["policy-check"], "gpt-faster")]


def test_safety_buffering_is_reported_once_per_stream(mapper: StreamMapper) -> None:
    mapper.feed({"type": "response.created", "response": {}, "safety_buffering": SAFETY})
    other = {"use_cases": ["bio"], "reasons": ["again"]}
    assert mapper.feed({"type": "response.in_progress", "safety_buffering": other}) == []


def test_safety_buffering_without_a_retry_model_takes_the_faster_model_from_the_headers(
    mapper: StreamMapper,
) -> None:
    headers = {
        "X-Codex-Safety-Buffering-Enabled": "true",
        "X-Codex-Safety-Buffering-Faster-Model": "gpt-mini",
    }
    mapper.feed({"type": RESPONSE_HEADERS_EVENT, "headers": headers})
    event = {"type": "response.created", "safety_buffering": {"use_cases": ["c"], "reasons": []}}
    assert mapper.feed(event) == [SafetyBuffering(["c"], [], "gpt-mini")]


def test_the_faster_model_header_counts_only_when_buffering_is_enabled(
    mapper: StreamMapper,
) -> None:
    headers = {"x-codex-safety-buffering-faster-model": "gpt-mini"}
    mapper.feed({"type": RESPONSE_HEADERS_EVENT, "headers": headers})
    event = {"type": "response.created", "safety_buffering": {"use_cases": ["c"], "reasons": []}}
    assert mapper.feed(event) == [SafetyBuffering(["c"], [], None)]


def test_safety_buffering_headers_alone_report_nothing(mapper: StreamMapper) -> None:
    headers = {"x-codex-safety-buffering-enabled": "true"}
    mapper.feed({"type": RESPONSE_HEADERS_EVENT, "headers": headers})
    assert mapper.feed({"type": "response.created", "response": {"id": "r"}}) == []


def test_moderation_metadata_on_an_event_is_reported_before_the_event_itself(
    mapper: StreamMapper,
) -> None:
    event = {**added(message("msg_1")), "openai_chatgpt_moderation_metadata": {"flag": 1}}
    effects = mapper.feed(event)
    assert effects[0] == ModerationMetadata({"flag": 1})
    assert [type(e) for e in effects] == [ModerationMetadata, Emit]


# -- failures ------------------------------------------------------------------------------------
def test_response_failed_raises_a_retryable_stream_error_with_the_model_message(
    mapper: StreamMapper,
) -> None:
    event = {
        "type": "response.failed",
        "response": {"error": {"code": "server_error", "message": "boom"}},
    }
    with pytest.raises(ProviderError) as raised:
        mapper.feed(event)
    error = raised.value
    assert (error.message, error.codex_error_info, error.retry, error.details) == (
        "stream disconnected before completion: boom",
        "other",
        "stream",
        "boom",
    )


def test_response_failed_without_a_message_names_its_code(mapper: StreamMapper) -> None:
    with pytest.raises(ProviderError) as raised:
        mapper.feed({"type": "response.failed", "response": {"error": {"code": "overloaded"}}})
    assert raised.value.message == "stream disconnected before completion: overloaded"


def test_response_failed_for_context_length_is_a_final_context_window_error(
    mapper: StreamMapper,
) -> None:
    error_json = {"code": "context_length_exceeded", "message": "too long"}
    with pytest.raises(ProviderError) as raised:
        mapper.feed({"type": "response.failed", "response": {"error": error_json}})
    error = raised.value
    assert (error.message, error.codex_error_info, error.retry) == (
        "too long",
        "contextWindowExceeded",
        "none",
    )


def test_response_incomplete_is_a_final_error_naming_the_reason(mapper: StreamMapper) -> None:
    event = {
        "type": "response.incomplete",
        "response": {"incomplete_details": {"reason": "max_output_tokens"}},
    }
    with pytest.raises(ProviderError) as raised:
        mapper.feed(event)
    error = raised.value
    assert (error.message, error.codex_error_info, error.retry) == (
        "response incomplete: max_output_tokens",
        "other",
        "none",
    )


@pytest.mark.parametrize(
    "event",
    [
        {"type": "error", "message": "upstream reset"},
        {"type": "error", "error": {"message": "upstream reset"}},
    ],
    ids=["top-level message", "nested error"],
)
def test_an_error_event_raises_a_retryable_stream_error(
    mapper: StreamMapper, event: dict[str, Any]
) -> None:
    with pytest.raises(ProviderError) as raised:
        mapper.feed(event)
    error = raised.value
    assert (error.message, error.codex_error_info, error.retry) == (
        "stream disconnected before completion: upstream reset",
        "other",
        "stream",
    )


def test_reasoning_deltas_without_an_open_item_are_dropped_as_codex_does(
    mapper: StreamMapper,
) -> None:
    assert (
        feed_all(
            mapper,
            summary_part("rs_1", 0),
            summary_delta("rs_1", 0, "thinking"),
        )
        == []
    )
