"""Model providers against a real HTTP server on 127.0.0.1 (`tests.support.model_server`).

Covers the Responses provider (event pass-through, request shape, error classification, idle
timeout, cancellation, connection reuse, throughput), the Chat Completions provider (request
translation and equivalent Responses events), the factory's caching (and its lazy HTTP stack),
and SSE decoding.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI

from app_server.agent.providers.base import (
    RESPONSE_HEADERS_EVENT,
    MissingCredentials,
    ModelProvider,
    ProviderError,
    SamplingRequest,
)
from app_server.agent.providers.chat_provider import ChatCompletionsProvider
from app_server.agent.providers.factory import close_providers, create_provider
from app_server.agent.providers.provider_config import (
    ProviderConfig,
    resolve_headers,
    resolve_provider,
)
from app_server.agent.providers.responses_provider import ResponsesProvider
from app_server.agent.providers.sse_transport import sse_payloads
from tests.support.model_replies import (
    Reply,
    Usage,
    custom_tool_call,
    function_call,
    message,
    reasoning,
)
from tests.support.model_server import ModelServer

API_KEY_ENV = "MOCK_API_KEY"
ENV = {API_KEY_ENV: "test-key", "MOCK_HEADER": "from-env"}
USER_HI = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
EXEC_TOOL = {
    "type": "function",
    "name": "exec_command",
    "description": "Run a command",
    "strict": False,
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}},
}
PATCH_TOOL = {"type": "custom", "name": "apply_patch", "description": "Patch files", "format": {}}
CLOCK_TOOLS = {
    "type": "namespace",
    "name": "clock",
    "description": "",
    "tools": [{"type": "function", "name": "now", "description": "Time", "parameters": {}}],
}


@pytest.fixture
async def model_server() -> AsyncIterator[ModelServer]:
    async with ModelServer() as server:
        yield server


AnyProvider = ResponsesProvider | ChatCompletionsProvider
MakeProvider = Callable[..., AnyProvider]


@pytest.fixture
async def make_provider(model_server: ModelServer, tmp_path: Path) -> AsyncIterator[MakeProvider]:
    """Builds providers for `model_server` from a config table; closes them afterwards."""
    made: list[AnyProvider] = []

    def make(wire_api: str = "responses", **table: Any) -> AnyProvider:
        values = {
            "model_providers": {
                "mock": {
                    "base_url": model_server.base_url,
                    "wire_api": wire_api,
                    "env_key": API_KEY_ENV,
                    **table,
                }
            }
        }
        config = resolve_provider(values, "mock", tmp_path, ENV)
        kind = ChatCompletionsProvider if wire_api == "chat" else ResponsesProvider
        provider: AnyProvider = kind(config, ENV[API_KEY_ENV], headers=resolve_headers(config, ENV))
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


def request(**fields: Any) -> SamplingRequest:
    return SamplingRequest(**{"model": "gpt-test", "input": [USER_HI], **fields})


async def collect(
    provider: ModelProvider, sampling: SamplingRequest | None = None
) -> tuple[list[dict[str, Any]], ProviderError | None]:
    """Every event the stream yields, and the ProviderError it ended with (if any)."""
    events: list[dict[str, Any]] = []
    try:
        async for event in provider.stream(sampling or request()):
            events.append(event)
    except ProviderError as error:
        return events, error
    return events, None


async def fail(provider: ModelProvider) -> ProviderError:
    _, error = await collect(provider)
    assert error is not None, "the stream was expected to fail"
    return error


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


# -- Responses provider: the happy path --------------------------------------------------------


async def test_text_stream_passes_events_through_in_order(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    reply = Reply.text("Hello there, friend!", deltas=4).with_headers(openai_model="gpt-routed")
    model_server.enqueue(reply.with_safety_buffering(["cyber"], ["policy-check"], "gpt-faster"))
    events, error = await collect(make_provider())
    assert error is None
    headers = events[0]
    assert headers["type"] == RESPONSE_HEADERS_EVENT
    assert headers["headers"]["openai-model"] == "gpt-routed"
    assert headers["headers"]["content-type"] == "text/event-stream"
    assert types(events[1:]) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 4,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(deltas) == "Hello there, friend!"
    created = events[1]
    assert created["safety_buffering"] == {
        "use_cases": ["cyber"],
        "reasons": ["policy-check"],
        "retry_model": "gpt-faster",
    }
    assert created["sequence_number"] == 0
    assert events[-1]["response"]["usage"] == Usage().responses_json()


async def test_request_body_headers_and_query_as_sent(
    model_server: ModelServer, make_provider: MakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-must-not-leak")  # the SDK's own variable
    provider = make_provider(
        http_headers={"x-static": "yes"},
        env_http_headers={"x-from-env": "MOCK_HEADER"},
        query_params={"api-version": "2025-01-01"},
    )
    sampling = request(
        instructions="You are terse.",
        tools=[EXEC_TOOL],
        reasoning={"effort": "low", "summary": "auto"},
        prompt_cache_key="thread-1",
        include=["reasoning.encrypted_content"],
        client_metadata={"thread_id": "thread-1"},
        headers={"session-id": "thread-1", "originator": "codex_vscode"},
    )
    model_server.enqueue(Reply.text("ok"))
    _, error = await collect(provider, sampling)
    assert error is None
    (recorded,) = model_server.requests
    assert (recorded.method, recorded.path) == ("POST", "/v1/responses")
    assert recorded.params == {"api-version": ["2025-01-01"]}
    assert recorded.headers["authorization"] == "Bearer test-key"
    assert recorded.headers["accept"] == "text/event-stream"
    assert recorded.headers["content-type"] == "application/json"
    assert recorded.headers["x-static"] == "yes"
    assert recorded.headers["x-from-env"] == "from-env"
    assert recorded.headers["session-id"] == "thread-1"
    assert recorded.headers["originator"] == "codex_vscode"
    assert "openai-organization" not in recorded.headers
    assert recorded.body == {
        "model": "gpt-test",
        "stream": True,
        "input": [USER_HI],
        "instructions": "You are terse.",
        "tools": [EXEC_TOOL],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"effort": "low", "summary": "auto"},
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "thread-1",
        "client_metadata": {"thread_id": "thread-1"},
    }


async def test_provider_without_key_sends_no_authorization(
    model_server: ModelServer, tmp_path: Path
) -> None:
    values = {"model_providers": {"local": {"base_url": model_server.base_url}}}
    config = resolve_provider(values, "local", tmp_path, {})
    provider = ResponsesProvider(config, None, headers={})
    try:
        _, error = await collect(provider)
    finally:
        await provider.aclose()
    assert error is None
    assert "authorization" not in model_server.requests[0].headers


async def test_connections_are_reused_across_streams(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    model_server.enqueue(Reply.text("one", deltas=3), Reply.text("two", deltas=3))
    for _ in range(2):
        _, error = await collect(provider)
        assert error is None
    first, second = model_server.requests
    assert first.connection_id == second.connection_id


# -- Responses provider: errors ------------------------------------------------------------------


async def test_http_500_is_retryable_internal_server_error(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    model_server.enqueue(Reply.server_error("The server had an error."))
    error = await fail(make_provider())
    assert error.codex_error_info == "internalServerError"
    assert (error.retry, error.http_status) == ("request", 500)
    assert error.message.startswith("We\u2019re currently experiencing high demand")
    assert error.details is not None
    assert "The server had an error." in error.details


async def test_http_429_honours_retry_after(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    model_server.enqueue(Reply.rate_limited(retry_after=7))
    error = await fail(make_provider())
    assert error.codex_error_info == "rateLimitExceeded"
    assert (error.retry, error.http_status, error.retry_after_seconds) == ("request", 429, 7.0)


async def test_http_429_usage_limit_is_final(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    model_server.enqueue(Reply.rate_limited(code="usage_limit_reached"))
    error = await fail(make_provider())
    assert (error.codex_error_info, error.retry) == ("usageLimitExceeded", "none")


@pytest.mark.parametrize(
    ("reply", "info", "status"),
    [
        (Reply.unauthorized(), "unauthorized", 401),
        (Reply.http_error(403, "forbidden"), "unauthorized", 403),
        (Reply.context_length_exceeded(), "contextWindowExceeded", 400),
        (Reply.http_error(404, "The model `nope` does not exist"), "modelNotFound", 404),
        (Reply.http_error(400, "bad tools", code="invalid_value"), "badRequest", 400),
        (Reply.http_error(422, "unprocessable"), "badRequest", 422),
    ],
)
async def test_final_http_errors(
    model_server: ModelServer, make_provider: MakeProvider, reply: Reply, info: str, status: int
) -> None:
    model_server.enqueue(reply)
    error = await fail(make_provider())
    assert (error.codex_error_info, error.retry, error.http_status) == (info, "none", status)
    assert error.details is not None
    assert reply.error_body is not None
    assert reply.error_body["error"]["message"] in error.details


async def test_disconnect_mid_stream_is_a_stream_error(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    model_server.enqueue(Reply.text("Hello there", deltas=5).disconnect_after(6))
    events, error = await collect(make_provider())
    assert error is not None
    assert types(events)[-1] == "response.output_text.delta"
    assert error.retry == "stream"
    assert error.codex_error_info == {"responseStreamDisconnected": {"httpStatusCode": None}}
    assert error.message.startswith("stream disconnected before completion: ")


async def test_stream_cut_between_frames_is_a_stream_error(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    model_server.enqueue(Reply.text("Hello", deltas=1).disconnect_after(2))
    _, error = await collect(make_provider())
    assert error is not None
    assert error.retry == "stream"


async def test_response_failed_is_retried_under_the_stream_budget(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    model_server.enqueue(Reply.failed("server_error", "upstream exploded", message("partial")))
    events, error = await collect(make_provider())
    assert error is not None
    assert "response.failed" not in types(events)
    assert error.message == "stream disconnected before completion: upstream exploded"
    assert (error.codex_error_info, error.retry) == ("other", "stream")
    assert error.details is not None
    assert "upstream exploded" in error.details


async def test_response_failed_context_length_is_final(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    model_server.enqueue(Reply.failed("context_length_exceeded", "too long"))
    error = await fail(make_provider())
    assert (error.codex_error_info, error.retry) == ("contextWindowExceeded", "none")


async def test_response_incomplete_is_final(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    model_server.enqueue(Reply.incomplete("max_output_tokens", message("cut")))
    error = await fail(make_provider())
    assert (error.codex_error_info, error.retry) == ("other", "none")
    assert error.message == "Incomplete response returned, reason: max_output_tokens"


async def test_connection_refused_is_a_retryable_connection_failure(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = ProviderConfig(id="gone", name="gone", base_url=f"http://127.0.0.1:{port}/v1")
    provider = ResponsesProvider(config, "k", headers={})
    try:
        error = await fail(provider)
    finally:
        await provider.aclose()
    assert error.codex_error_info == {"httpConnectionFailed": {"httpStatusCode": None}}
    assert error.retry == "request"
    assert f"127.0.0.1:{port}" in error.message


async def test_idle_stream_times_out(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    release = asyncio.Event()
    model_server.enqueue(Reply.text("never finished", deltas=3).hang_after(4, release))
    started = time.monotonic()
    events, error = await collect(make_provider(stream_idle_timeout_ms=300))
    elapsed = time.monotonic() - started
    release.set()
    assert error is not None
    assert error.message == "stream disconnected before completion: idle timeout waiting for SSE"
    assert error.retry == "stream"
    assert 0.25 < elapsed < 5
    assert types(events)[1:] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]


async def test_silent_server_times_out_before_headers(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    model_server.enqueue(Reply.text("late").delayed(first_byte=3))
    started = time.monotonic()
    events, error = await collect(make_provider(stream_idle_timeout_ms=300))
    assert time.monotonic() - started < 2.5
    assert events == []
    assert error is not None
    assert error.retry == "stream"
    assert "idle timeout" in error.message


async def test_cancellation_closes_the_stream_promptly(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(Reply.text("long answer", deltas=5).hang_after(5, release, reached))
    seen: list[str] = []
    all_sent_seen = asyncio.Event()

    async def consume() -> None:
        async for event in make_provider().stream(request()):
            seen.append(event["type"])
            if len(seen) == 6:  # headers + the 5 frames sent before the hang
                all_sent_seen.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(reached.wait(), 5)
    await asyncio.wait_for(all_sent_seen.wait(), 5)
    started = time.monotonic()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await model_server.wait_for_aborted_streams(1, timeout=2)
    assert time.monotonic() - started < 1.0


async def test_closing_the_iterator_closes_the_stream(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    release = asyncio.Event()
    model_server.enqueue(Reply.text("long answer", deltas=5).hang_after(5, release))
    stream = make_provider().stream(request())
    async for event in stream:
        if event["type"] == "response.output_item.added":
            break
    await stream.aclose()
    await model_server.wait_for_aborted_streams(1, timeout=2)


# -- Chat Completions provider -------------------------------------------------------------------


def _projection(events: list[dict[str, Any]]) -> list[Any]:
    """What the turn runner relies on, independent of ids and wire-specific extras: the first
    and last events, and each output item's own events in order (items may interleave)."""
    per_item: dict[int, list[tuple[Any, ...]]] = {}
    for event in events:
        kind = event["type"]
        if kind in ("response.output_item.added", "response.output_item.done"):
            item = {k: v for k, v in event["item"].items() if k not in ("id", "status")}
            per_item.setdefault(event["output_index"], []).append((kind, item))
        elif kind in ("response.output_text.delta", "response.function_call_arguments.delta"):
            per_item.setdefault(event["output_index"], []).append((kind, event["delta"]))
    first, last = events[1], events[-1]
    return [first["type"], sorted(per_item.items()), last["type"], last["response"]["usage"]]


TEXT_THEN_CALL = Reply.of(
    message("Let me look.", 2),
    function_call("exec_command", {"cmd": "ls"}, call_id="call_9", deltas=3),
)
PARALLEL_CALLS = Reply.of(
    function_call("exec_command", {"cmd": "ls"}, call_id="call_a", deltas=2),
    function_call("exec_command", {"cmd": "pwd"}, call_id="call_b", deltas=2),
)


@pytest.mark.parametrize(
    ("responses_reply", "chat_reply"),
    [
        (Reply.text("Hello there, friend!", deltas=4),) * 2,
        (TEXT_THEN_CALL, TEXT_THEN_CALL),
        (PARALLEL_CALLS, PARALLEL_CALLS),
        (
            Reply.function_call("now", {}, call_id="call_ns", namespace="clock"),
            # over chat the model calls the flattened name it was offered
            Reply.function_call("clock__now", {}, call_id="call_ns"),
        ),
    ],
    ids=["text", "text-then-call", "parallel-calls", "namespaced-call"],
)
async def test_chat_provider_yields_equivalent_responses_events(
    model_server: ModelServer,
    make_provider: MakeProvider,
    responses_reply: Reply,
    chat_reply: Reply,
) -> None:
    tools = [EXEC_TOOL, CLOCK_TOOLS]
    model_server.enqueue(responses_reply, chat_reply)
    via_responses, error = await collect(make_provider(), request(tools=tools))
    assert error is None
    via_chat, error = await collect(make_provider("chat"), request(tools=tools))
    assert error is None
    assert via_chat[0]["type"] == RESPONSE_HEADERS_EVENT
    assert _projection(via_chat) == _projection(via_responses)
    assert model_server.requests[1].path == "/v1/chat/completions"
    ids = {e["item"]["id"] for e in via_chat if e["type"] == "response.output_item.done"}
    assert all(i.startswith(("msg_", "fc_")) for i in ids)


async def test_chat_custom_and_reasoning_items(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    patch = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n"
    model_server.enqueue(
        Reply.of(reasoning("Thinking it over."), custom_tool_call("apply_patch", patch, deltas=3))
    )
    events, error = await collect(make_provider("chat"), request(tools=[PATCH_TOOL]))
    assert error is None
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert [item["type"] for item in done] == ["reasoning", "custom_tool_call"]
    assert done[0]["content"] == [{"type": "reasoning_text", "text": "Thinking it over."}]
    assert (done[1]["name"], done[1]["input"]) == ("apply_patch", patch)
    assert done[1]["call_id"].startswith("call_")


async def test_chat_request_translation(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    image = "data:image/png;base64,AAAA"
    history: list[dict[str, Any]] = [
        {
            "type": "message",
            "role": "developer",
            "content": [{"type": "input_text", "text": "dev"}],
        },
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "look"},
                {"type": "input_image", "image_url": image},
            ],
        },
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "x"},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "ok"}],
        },
        {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "a.txt"},
        {"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch", "input": "PATCH"},
        {"type": "custom_tool_call_output", "call_id": "c2", "output": "Done"},
        {"type": "function_call", "call_id": "c3", "name": "now", "namespace": "clock"},
        {
            "type": "function_call_output",
            "call_id": "c3",
            "output": [{"type": "input_text", "text": "noon"}],
        },
    ]
    sampling = request(
        input=history,
        instructions="Be brief.",
        tools=[EXEC_TOOL, PATCH_TOOL, CLOCK_TOOLS, {"type": "web_search"}],
        reasoning={"effort": "high", "summary": "auto"},
        headers={"session-id": "t1"},
    )
    model_server.enqueue(Reply.text("fine"))
    _, error = await collect(make_provider("chat"), sampling)
    assert error is None
    (recorded,) = model_server.requests
    assert recorded.path == "/v1/chat/completions"
    assert recorded.headers["authorization"] == "Bearer test-key"
    assert recorded.headers["session-id"] == "t1"
    body = recorded.body
    assert body["model"] == "gpt-test"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["reasoning_effort"] == "high"
    assert (body["tool_choice"], body["parallel_tool_calls"]) == ("auto", True)

    def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
        function = {"name": name, "arguments": arguments}
        return {"id": call_id, "type": "function", "function": function}

    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "dev"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": image}},
            ],
        },
        {"role": "assistant", "content": "ok", "tool_calls": [call("c1", "exec_command", "{}")]},
        {"role": "tool", "tool_call_id": "c1", "content": "a.txt"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [call("c2", "apply_patch", '{"input":"PATCH"}')],
        },
        {"role": "tool", "tool_call_id": "c2", "content": "Done"},
        {"role": "assistant", "content": None, "tool_calls": [call("c3", "clock__now", "{}")]},
        {"role": "tool", "tool_call_id": "c3", "content": "noon"},
    ]
    names = [tool["function"]["name"] for tool in body["tools"]]
    assert names == ["exec_command", "apply_patch", "clock__now"]
    exec_function = body["tools"][0]["function"]
    assert exec_function["parameters"] == EXEC_TOOL["parameters"]
    assert exec_function["strict"] is False
    assert body["tools"][1]["function"]["parameters"]["required"] == ["input"]


async def test_chat_function_shaped_call_to_a_custom_tool_becomes_custom_tool_call(
    model_server: ModelServer, make_provider: MakeProvider
) -> None:
    arguments = '{"input": "*** Begin Patch\\n*** End Patch\\n"}'
    model_server.enqueue(Reply.function_call("apply_patch", arguments, call_id="call_p", deltas=4))
    events, error = await collect(make_provider("chat"), request(tools=[PATCH_TOOL]))
    assert error is None
    (done,) = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert done["type"] == "custom_tool_call"
    assert (done["call_id"], done["input"]) == ("call_p", "*** Begin Patch\n*** End Patch\n")


@pytest.mark.parametrize(
    ("reply", "info", "retry"),
    [
        (Reply.server_error(), "internalServerError", "request"),
        (Reply.unauthorized(), "unauthorized", "none"),
        (Reply.failed("server_error", "boom", message("partial")), "other", "stream"),
        (Reply.incomplete("max_output_tokens", message("cut")), "other", "none"),
        (Reply.text("Hello there", deltas=4).disconnect_after(3), None, "stream"),
    ],
    ids=["500", "401", "error-chunk", "length", "disconnect"],
)
async def test_chat_errors_are_classified_the_same_way(
    model_server: ModelServer,
    make_provider: MakeProvider,
    reply: Reply,
    info: str | None,
    retry: str,
) -> None:
    model_server.enqueue(reply)
    error = await fail(make_provider("chat"))
    assert error.retry == retry
    if info is not None:
        assert error.codex_error_info == info
    else:
        assert error.codex_error_info == {"responseStreamDisconnected": {"httpStatusCode": None}}


# -- factory -----------------------------------------------------------------------------------


async def test_factory_caches_one_provider_per_config_and_key(
    model_server: ModelServer, tmp_path: Path
) -> None:
    table = {"base_url": model_server.base_url, "env_key": API_KEY_ENV}
    values = {"model_providers": {"mock": table, "chatty": {**table, "wire_api": "chat"}}}
    mock = resolve_provider(values, "mock", tmp_path, ENV)
    chatty = resolve_provider(values, "chatty", tmp_path, ENV)
    try:
        first = create_provider(mock, tmp_path, ENV)
        assert create_provider(mock, tmp_path, dict(ENV)) is first
        assert isinstance(first, ResponsesProvider)
        assert isinstance(create_provider(chatty, tmp_path, ENV), ChatCompletionsProvider)
        other_key = create_provider(mock, tmp_path, {**ENV, API_KEY_ENV: "another"})
        assert other_key is not first
        model_server.enqueue(Reply.text("a"), Reply.text("b"))
        for provider in (first, create_provider(mock, tmp_path, ENV)):
            _, error = await collect(provider)
            assert error is None
        assert model_server.requests[0].connection_id == model_server.requests[1].connection_id
        with pytest.raises(MissingCredentials, match=API_KEY_ENV):
            create_provider(mock, tmp_path, {})
    finally:
        await close_providers()


# -- SSE decoding --------------------------------------------------------------------------------


async def test_sse_decoding_handles_framing_variants() -> None:
    stream = (
        b": keep-alive comment\r\n\r\n"
        b'event: custom.unknown\r\ndata: {"a": 1}\r\n\r\n'
        b'data: {"type": "x",\ndata: "b": 2}\n\n'
        b"data: not json\n\n"
        b"data: [1, 2]\n\n"
        b'id: 7\nretry: 10\ndata:{"type":"tight"}\n\n'
        b"data: [DONE]\n\n"
        b'data: {"type": "tail"}'
    )

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(0, len(stream), 7):  # frames split across arbitrary chunk boundaries
            yield stream[index : index + 7]

    body = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=chunks())
    events = [event async for event in sse_payloads(body)]
    assert events == [
        {"a": 1, "type": "custom.unknown"},
        {"type": "x", "b": 2},
        {"type": "tight"},
        {"type": "[DONE]"},
        {"type": "tail"},
    ]


async def test_sse_decoding_ignores_a_wrong_content_type() -> None:
    """Codex reads any 200 body as SSE; httpx-sse alone would refuse a mislabelled one."""
    frames = b'data: {"type": "response.created"}\n\n'
    body = httpx.Response(200, headers={"content-type": "application/json"}, content=frames)
    assert [event async for event in sse_payloads(body)] == [{"type": "response.created"}]


# -- throughput ----------------------------------------------------------------------------------

THROUGHPUT_DELTAS = 20_000


async def test_text_delta_throughput(
    model_server: ModelServer, make_provider: MakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    """httpx-sse + orjson decoding is faster than the official SDK's typed events (20,000
    deltas over loopback; both rates are printed)."""
    text = "ab" * THROUGHPUT_DELTAS
    provider = make_provider()
    model_server.enqueue(Reply.text(text, deltas=THROUGHPUT_DELTAS))
    _, error = await collect(provider)  # warm-up: connection, SDK platform probe
    assert error is None
    model_server.enqueue(Reply.text(text, deltas=THROUGHPUT_DELTAS))
    started = time.perf_counter()
    deltas = 0
    async for event in provider.stream(request()):
        deltas += event["type"] == "response.output_text.delta"
    raw_seconds = time.perf_counter() - started
    assert deltas == THROUGHPUT_DELTAS

    model_server.enqueue(Reply.text(text, deltas=THROUGHPUT_DELTAS))
    sdk = AsyncOpenAI(api_key=ENV[API_KEY_ENV], base_url=model_server.base_url, max_retries=0)
    started = time.perf_counter()
    typed = 0
    try:
        sdk_stream = await sdk.responses.create(model="gpt-test", input="hi", stream=True)
        async for sdk_event in sdk_stream:
            typed += sdk_event.type == "response.output_text.delta"
    finally:
        await sdk.close()
    typed_seconds = time.perf_counter() - started
    assert typed == THROUGHPUT_DELTAS
    with capsys.disabled():
        print(
            f"\nResponsesProvider.stream: {THROUGHPUT_DELTAS / raw_seconds:,.0f} text deltas/s "
            f"({raw_seconds * 1000:.0f} ms); SDK typed events: "
            f"{THROUGHPUT_DELTAS / typed_seconds:,.0f}/s ({typed_seconds * 1000:.0f} ms)"
        )
    # Relative, not absolute: both decoders ran back to back on the same (possibly loaded)
    # machine; the absolute figure belongs to a benchmark, not to a test's verdict.
    assert raw_seconds < typed_seconds, "our decoder must beat the SDK's typed events"
