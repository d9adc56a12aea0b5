"""Scripted model replies for the fake model server (`tests.support.model_server`).

A `Reply` is an immutable description of one HTTP answer: the output items a model "produces"
(messages, reasoning, tool calls), the usage it reports, and how the answer misbehaves (HTTP
error, `response.failed`, delays, a hang, a dropped connection). The same Reply renders to the
Responses API wire (`render_responses`) and to the Chat Completions wire (`render_chat`), so a test
scripts a turn once and either wire can carry it. Frame shapes follow AGENT_LOOP §3/§9.

    Reply.text("Hello there, friend!", deltas=4)
    Reply.of(message("Let me look."), function_call("exec_command", {"cmd": "ls"}))
    Reply.rate_limited(retry_after=1)
    Reply.text("slow", deltas=5).delayed(between_frames=0.05).hang_after(2, release=gate)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

_counter = itertools.count(1)

JsonDict = dict[str, Any]


def new_id(prefix: str) -> str:
    """A process-unique, readable id (`msg_7`): items of different replies never collide."""
    return f"{prefix}_{next(_counter)}"


def split_text(text: str, pieces: int) -> tuple[str, ...]:
    """Split `text` into `pieces` non-empty parts whose concatenation is `text`."""
    if pieces < 1 or (text and pieces > len(text)):
        raise ValueError(f"cannot split {len(text)} characters into {pieces} deltas")
    if not text:
        return ("",)
    size = len(text)
    return tuple(text[i * size // pieces : (i + 1) * size // pieces] for i in range(pieces))


@dataclass(frozen=True)
class Usage:
    """Token usage reported in `response.completed`; `total_tokens` defaults to input + output."""

    input_tokens: int = 100
    cached_tokens: int = 10
    output_tokens: int = 20
    reasoning_tokens: int = 5
    total_tokens: int | None = None

    @property
    def total(self) -> int:
        return (
            self.input_tokens + self.output_tokens
            if self.total_tokens is None
            else self.total_tokens
        )

    def responses_json(self) -> JsonDict:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.total,
        }

    def chat_json(self) -> JsonDict:
        return {
            "prompt_tokens": self.input_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
            "completion_tokens": self.output_tokens,
            "completion_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.total,
        }


@dataclass(frozen=True)
class Message:
    """An assistant message streamed as `chunks` (one `output_text.delta` each)."""

    chunks: tuple[str, ...]
    id: str = field(default_factory=lambda: new_id("msg"))
    phase: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.chunks)


@dataclass(frozen=True)
class Reasoning:
    """A reasoning item: summary parts (each streamed in `deltas` pieces) and raw reasoning text."""

    summary: tuple[str, ...]
    content: tuple[str, ...] = ()
    deltas: int = 1
    encrypted_content: str = "gAAAAB-test-encrypted-reasoning=="
    id: str = field(default_factory=lambda: new_id("rs"))


@dataclass(frozen=True)
class FunctionCall:
    """A `function_call` item; `arguments` is the JSON text the model streams."""

    name: str
    arguments: str
    call_id: str = field(default_factory=lambda: new_id("call"))
    namespace: str | None = None
    deltas: int = 1
    id: str = field(default_factory=lambda: new_id("fc"))


@dataclass(frozen=True)
class CustomToolCall:
    """A freeform `custom_tool_call` item (e.g. `apply_patch` with the patch as `input`)."""

    name: str
    input: str
    call_id: str = field(default_factory=lambda: new_id("call"))
    deltas: int = 1
    id: str = field(default_factory=lambda: new_id("ctc"))


OutputItem = Message | Reasoning | FunctionCall | CustomToolCall


def message(text: str, deltas: int = 1, *, phase: str | None = None) -> Message:
    """An assistant message whose text arrives in `deltas` pieces."""
    return Message(split_text(text, deltas), phase=phase)


def reasoning(*summary: str, content: Sequence[str] = (), deltas: int = 1) -> Reasoning:
    """A reasoning item with the given summary parts (and optional raw reasoning text)."""
    return Reasoning(tuple(summary), tuple(content), deltas)


def function_call(
    name: str,
    arguments: Mapping[str, Any] | str,
    *,
    call_id: str | None = None,
    namespace: str | None = None,
    deltas: int = 1,
) -> FunctionCall:
    """A function call; a mapping is serialized to JSON text like the model would send it."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    call = FunctionCall(name, text, namespace=namespace, deltas=deltas)
    return call if call_id is None else replace(call, call_id=call_id)


def custom_tool_call(
    name: str, input: str, *, call_id: str | None = None, deltas: int = 1
) -> CustomToolCall:
    """A freeform tool call (the `apply_patch` shape of AGENT_LOOP §9)."""
    call = CustomToolCall(name, input, deltas=deltas)
    return call if call_id is None else replace(call, call_id=call_id)


@dataclass(frozen=True)
class Hang:
    """Stop after `after` frames until `release` is set; `reached` is set when the stop begins."""

    after: int
    release: asyncio.Event
    reached: asyncio.Event


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Build with the class methods, adjust with the `with_*` methods."""

    items: tuple[OutputItem, ...] = ()
    usage: Usage = field(default_factory=Usage)
    model: str = "gpt-test"
    response_id: str = field(default_factory=lambda: new_id("resp"))
    status: int = 200
    error_body: JsonDict | None = None
    headers: tuple[tuple[str, str], ...] = ()
    failure: JsonDict | None = None
    incomplete_reason: str | None = None
    event_fields: tuple[tuple[str, str, Any], ...] = ()
    first_byte_delay: float = 0.0
    frame_delay: float = 0.0
    hang: Hang | None = None
    disconnect_after_frames: int | None = None

    # -- constructors --------------------------------------------------------------------------

    @classmethod
    def of(cls, *items: OutputItem) -> Reply:
        """A successful response carrying these output items, in order."""
        return cls(items=items)

    @classmethod
    def text(
        cls,
        text: str,
        deltas: int = 1,
        *,
        reasoning_summary: Sequence[str] | None = None,
        phase: str | None = None,
    ) -> Reply:
        """A text answer in `deltas` pieces, optionally preceded by a reasoning item."""
        head = (reasoning(*reasoning_summary),) if reasoning_summary else ()
        return cls(items=(*head, message(text, deltas, phase=phase)))

    @classmethod
    def function_call(
        cls,
        name: str,
        arguments: Mapping[str, Any] | str,
        *,
        call_id: str | None = None,
        namespace: str | None = None,
        deltas: int = 1,
    ) -> Reply:
        """A response that only calls one function."""
        call = function_call(name, arguments, call_id=call_id, namespace=namespace, deltas=deltas)
        return cls(items=(call,))

    @classmethod
    def custom_tool_call(
        cls, name: str, input: str, *, call_id: str | None = None, deltas: int = 1
    ) -> Reply:
        """A response that only makes one freeform tool call (e.g. `apply_patch`)."""
        return cls(items=(custom_tool_call(name, input, call_id=call_id, deltas=deltas),))

    @classmethod
    def http_error(
        cls,
        status: int,
        message: str = "error",
        *,
        error_type: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> Reply:
        """A non-streaming HTTP error with an OpenAI-style `{"error": {...}}` JSON body."""
        error = {"message": message, "type": error_type, "param": None, "code": code}
        body = {"error": error}
        headers = () if retry_after is None else (("retry-after", f"{retry_after:g}"),)
        return cls(status=status, error_body=body, headers=headers)

    @classmethod
    def server_error(cls, message: str = "The server had an error.") -> Reply:
        return cls.http_error(500, message, error_type="server_error")

    @classmethod
    def rate_limited(cls, retry_after: float | None = None, code: str | None = None) -> Reply:
        return cls.http_error(
            429,
            "Rate limit reached.",
            error_type="rate_limit_error",
            code=code,
            retry_after=retry_after,
        )

    @classmethod
    def context_length_exceeded(cls) -> Reply:
        return cls.http_error(
            400,
            "Your input exceeds the context window of this model.",
            error_type="invalid_request_error",
            code="context_length_exceeded",
        )

    @classmethod
    def unauthorized(cls) -> Reply:
        return cls.http_error(
            401,
            "Incorrect API key provided.",
            error_type="invalid_request_error",
            code="invalid_api_key",
        )

    @classmethod
    def failed(cls, code: str, message: str, *items: OutputItem) -> Reply:
        """A stream that ends with `response.failed` (after streaming `items`, if any)."""
        return cls(items=items, failure={"code": code, "message": message})

    @classmethod
    def incomplete(cls, reason: str, *items: OutputItem) -> Reply:
        """A stream that ends with `response.incomplete` (`max_output_tokens`, `content_filter`)."""
        return cls(items=items, incomplete_reason=reason)

    # -- modifiers (each returns a new Reply) -------------------------------------------------

    def with_usage(self, usage: Usage | None = None, **fields: int) -> Reply:
        """Report different usage: a whole `Usage` or some of its fields."""
        return replace(self, usage=replace(usage or self.usage, **fields))

    def with_headers(self, headers: Mapping[str, str] | None = None, **more: str) -> Reply:
        """Extra response headers; in keyword names `_` stands for `-` (`openai_model=`)."""
        extra = [*(headers or {}).items(), *((k.replace("_", "-"), v) for k, v in more.items())]
        return replace(self, headers=(*self.headers, *extra))

    def with_event_field(self, event_type: str, key: str, value: Any) -> Reply:
        """Add a top-level field to every Responses event of `event_type` (e.g. metadata)."""
        return replace(self, event_fields=(*self.event_fields, (event_type, key, value)))

    def with_safety_buffering(
        self, use_cases: Sequence[str], reasons: Sequence[str], retry_model: str | None = None
    ) -> Reply:
        """`safety_buffering` on `response.created` (AGENT_LOOP §9)."""
        value: JsonDict = {"use_cases": list(use_cases), "reasons": list(reasons)}
        if retry_model is not None:
            value["retry_model"] = retry_model
        return self.with_event_field("response.created", "safety_buffering", value)

    def delayed(self, first_byte: float = 0.0, between_frames: float = 0.0) -> Reply:
        """Wait before sending anything, and/or between consecutive frames."""
        return replace(self, first_byte_delay=first_byte, frame_delay=between_frames)

    def hang_after(
        self, frames: int, release: asyncio.Event, reached: asyncio.Event | None = None
    ) -> Reply:
        """Send `frames` frames, set `reached`, then stall until the test sets `release`."""
        return replace(self, hang=Hang(frames, release, reached or asyncio.Event()))

    def disconnect_after(self, frames: int) -> Reply:
        """Close the connection after `frames` frames, without completing the stream."""
        return replace(self, disconnect_after_frames=frames)


# -- Responses API rendering -------------------------------------------------------------------


def responses_events(reply: Reply) -> list[JsonDict]:
    """The Responses API events of a streaming reply, in order (without SSE framing)."""
    events: list[JsonDict] = []
    response: JsonDict = {
        "id": reply.response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "model": reply.model,
        "output": [],
        "usage": None,
    }
    events.append({"type": "response.created", "response": response})
    events.append({"type": "response.in_progress", "response": response})
    done_items: list[JsonDict] = []
    for index, item in enumerate(reply.items):
        done_items.append(_item_events(events, index, item))
    final = {**response, "output": done_items}
    if reply.failure is not None:
        failed = {**final, "status": "failed", "error": reply.failure}
        events.append({"type": "response.failed", "response": failed})
    elif reply.incomplete_reason is not None:
        details = {"reason": reply.incomplete_reason}
        incomplete = {**final, "status": "incomplete", "incomplete_details": details}
        events.append({"type": "response.incomplete", "response": incomplete})
    else:
        completed = {**final, "status": "completed", "usage": reply.usage.responses_json()}
        events.append({"type": "response.completed", "response": completed})
    for number, event in enumerate(events):
        event["sequence_number"] = number
    for event_type, key, value in reply.event_fields:
        for event in events:
            if event["type"] == event_type:
                event[key] = value
    return events


def _item_events(events: list[JsonDict], index: int, item: OutputItem) -> JsonDict:
    """Append the events streaming one output item; return the item's final JSON."""
    at: JsonDict = {"item_id": item.id, "output_index": index}

    def added(started: JsonDict) -> None:
        events.append(
            {"type": "response.output_item.added", "output_index": index, "item": started}
        )

    done: JsonDict
    if isinstance(item, Message):
        started = {"id": item.id, "type": "message", "role": "assistant", "status": "in_progress"}
        if item.phase is not None:
            started["phase"] = item.phase
        added({**started, "content": []})
        part: JsonDict = {"type": "output_text", "text": "", "annotations": []}
        text_at = {**at, "content_index": 0}
        events.append({"type": "response.content_part.added", **text_at, "part": part})
        for chunk in item.chunks:
            delta = {"type": "response.output_text.delta", **text_at, "delta": chunk}
            events.append({**delta, "logprobs": []})
        events.append({"type": "response.output_text.done", **text_at, "text": item.text})
        part = {**part, "text": item.text}
        events.append({"type": "response.content_part.done", **text_at, "part": part})
        done = {**started, "status": "completed", "content": [part]}
    elif isinstance(item, Reasoning):
        added({"id": item.id, "type": "reasoning", "summary": []})
        for summary_index, text in enumerate(item.summary):
            part_at = {**at, "summary_index": summary_index}
            summary_part = {"type": "summary_text", "text": text}
            empty_part = {**summary_part, "text": ""}
            events.append(
                {"type": "response.reasoning_summary_part.added", **part_at, "part": empty_part}
            )
            for chunk in split_text(text, min(item.deltas, max(len(text), 1))):
                events.append(
                    {"type": "response.reasoning_summary_text.delta", **part_at, "delta": chunk}
                )
            events.append({"type": "response.reasoning_summary_text.done", **part_at, "text": text})
            events.append(
                {"type": "response.reasoning_summary_part.done", **part_at, "part": summary_part}
            )
        for content_index, text in enumerate(item.content):
            text_at = {**at, "content_index": content_index}
            events.append({"type": "response.reasoning_text.delta", **text_at, "delta": text})
            events.append({"type": "response.reasoning_text.done", **text_at, "text": text})
        done = {
            "id": item.id,
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": text} for text in item.summary],
            "encrypted_content": item.encrypted_content,
        }
        if item.content:
            done["content"] = [{"type": "reasoning_text", "text": text} for text in item.content]
    else:
        is_function = isinstance(item, FunctionCall)
        kind, field_name = (
            ("function_call", "arguments") if is_function else ("custom_tool_call", "input")
        )
        stream = "function_call_arguments" if is_function else "custom_tool_call_input"
        payload = item.arguments if isinstance(item, FunctionCall) else item.input
        started = {"id": item.id, "type": kind, "status": "in_progress", "call_id": item.call_id}
        started["name"] = item.name
        if isinstance(item, FunctionCall) and item.namespace is not None:
            started["namespace"] = item.namespace
        added({**started, field_name: ""})
        for chunk in split_text(payload, min(item.deltas, max(len(payload), 1))):
            events.append({"type": f"response.{stream}.delta", **at, "delta": chunk})
        events.append({"type": f"response.{stream}.done", **at, field_name: payload})
        done = {**started, "status": "completed", field_name: payload}
    events.append({"type": "response.output_item.done", "output_index": index, "item": done})
    return done


def render_responses(reply: Reply) -> list[bytes]:
    """SSE frames exactly as OpenAI sends them: `event: <type>\\ndata: <json>\\n\\n`."""
    return [
        b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"
        for event in responses_events(reply)
    ]


# -- Chat Completions rendering ----------------------------------------------------------------


def chat_chunks(reply: Reply) -> list[JsonDict]:
    """The Chat Completions stream of a reply (reasoning → `delta.reasoning`; usage chunk last).

    A `response.failed` reply ends with an `{"error": …}` chunk (what OpenAI streams) instead of
    the finish and usage chunks. Event fields and safety buffering are Responses-only.
    """
    base: JsonDict = {
        "id": "chatcmpl-" + reply.response_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": reply.model,
    }

    def chunk(delta: JsonDict, finish_reason: str | None = None) -> JsonDict:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**base, "choices": [choice]}

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    tool_index = 0
    for item in reply.items:
        if isinstance(item, Message):
            chunks.extend(chunk({"content": piece}) for piece in item.chunks)
        elif isinstance(item, Reasoning):
            for text in (*item.summary, *item.content):
                pieces = split_text(text, min(item.deltas, max(len(text), 1)))
                chunks.extend(chunk({"reasoning": piece}) for piece in pieces)
        else:
            is_function = isinstance(item, FunctionCall)
            kind, key = ("function", "arguments") if is_function else ("custom", "input")
            payload = item.arguments if isinstance(item, FunctionCall) else item.input
            call = {"index": tool_index, "id": item.call_id, "type": kind}
            chunks.append(chunk({"tool_calls": [{**call, kind: {"name": item.name, key: ""}}]}))
            for piece in split_text(payload, min(item.deltas, max(len(payload), 1))):
                chunks.append(chunk({"tool_calls": [{"index": tool_index, kind: {key: piece}}]}))
            tool_index += 1
    if reply.failure is not None:
        error = {"message": reply.failure.get("message"), "type": "server_error"}
        chunks.append({"error": {**error, "param": None, "code": reply.failure.get("code")}})
        return chunks
    reason = {"max_output_tokens": "length"}.get(
        reply.incomplete_reason or "", reply.incomplete_reason
    )
    chunks.append(chunk({}, reason or ("tool_calls" if tool_index else "stop")))
    chunks.append({**base, "choices": [], "usage": reply.usage.chat_json()})
    return chunks


def render_chat(reply: Reply) -> list[bytes]:
    """Chat SSE frames: `data: <json>\\n\\n` per chunk, then `data: [DONE]\\n\\n` on success."""
    frames = [b"data: " + orjson.dumps(chunk) + b"\n\n" for chunk in chat_chunks(reply)]
    return frames if reply.failure is not None else [*frames, b"data: [DONE]\n\n"]
