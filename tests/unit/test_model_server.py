"""The fake model server over real sockets, read by httpx2 and the official `openai` SDK.

If the SDK (which the app-server's provider code mirrors) parses these streams, tests that script
the app-server's model with `ModelServer` exercise the same wire a real provider produces.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
import pytest
import zstandard
from openai import AsyncOpenAI

from tests.support.model_replies import (
    Reply,
    Usage,
    function_call,
    message,
    responses_events,
)
from tests.support.model_server import ModelServer

BODY = {"model": "gpt-test", "stream": True, "input": "hi"}
PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hello world\n*** End Patch\n"


@pytest.fixture
async def server() -> AsyncIterator[ModelServer]:
    async with ModelServer() as model_server:
        yield model_server


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
async def sdk(server: ModelServer) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0) as client:
        yield client


async def sdk_events(sdk: AsyncOpenAI) -> list[Any]:
    stream = await sdk.responses.create(model="gpt-test", input="hi", stream=True)
    return [event async for event in stream]


async def sse_events(response: httpx2.Response) -> AsyncIterator[dict[str, Any]]:
    """Parse a Responses SSE stream, checking each `data` repeats its `event` type."""
    event_type = None
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event_type = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = json.loads(line.removeprefix("data: "))
            assert data["type"] == event_type
            yield data


async def collect(response: httpx2.Response, into: list[dict[str, Any]]) -> None:
    async for event in sse_events(response):
        into.append(event)


def types(events: list[Any]) -> list[str]:
    return [event["type"] if isinstance(event, dict) else event.type for event in events]


async def test_sdk_text_deltas_concatenate_to_final_text(
    server: ModelServer, sdk: AsyncOpenAI
) -> None:
    server.enqueue(Reply.text("Hello there, friend!", deltas=4))
    events = await sdk_events(sdk)
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) == 4
    assert "".join(deltas) == "Hello there, friend!"
    (done,) = [e for e in events if e.type == "response.output_item.done"]
    assert done.item.content[0].text == "Hello there, friend!"
    assert events[0].type == "response.created"
    usage = events[-1].response.usage
    assert events[-1].type == "response.completed"
    assert (usage.input_tokens, usage.input_tokens_details.cached_tokens) == (100, 10)
    assert (usage.output_tokens, usage.output_tokens_details.reasoning_tokens) == (20, 5)
    assert usage.total_tokens == 120


async def test_responses_stream_uses_openai_sse_framing(
    server: ModelServer, http: httpx2.AsyncClient
) -> None:
    server.enqueue(Reply.text("Hi!", deltas=3).with_usage(input_tokens=7, output_tokens=3))
    async with http.stream("POST", f"{server.base_url}/responses", json=BODY) as response:
        body = await response.aread()
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["transfer-encoding"] == "chunked"
    blocks = body.split(b"\n\n")
    assert blocks.pop() == b""
    for block in blocks:
        event_line, data_line = block.split(b"\n")
        data = json.loads(data_line.removeprefix(b"data: "))
        assert event_line == b"event: " + data["type"].encode()
    assert json.loads(blocks[-1].split(b"\n")[1][6:])["response"]["usage"]["total_tokens"] == 10


async def test_reasoning_summary_streams_before_the_message(
    server: ModelServer, sdk: AsyncOpenAI
) -> None:
    server.enqueue(Reply.text("Done.", reasoning_summary=["**Thinking** about it"]))
    events = await sdk_events(sdk)
    assert types(events)[2:8] == [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
    ]
    assert events[2].item.type == "reasoning"
    assert events[2].item.id.startswith("rs_")
    assert events[4].delta == "**Thinking** about it"
    reasoning_item = events[7].item
    assert reasoning_item.summary[0].model_dump() == {
        "type": "summary_text",
        "text": "**Thinking** about it",
    }
    assert reasoning_item.encrypted_content
    assert events[8].item.type == "message"


async def test_message_and_namespaced_function_call_share_one_response(
    server: ModelServer, sdk: AsyncOpenAI
) -> None:
    call = function_call(
        "sleep", {"duration_ms": 300}, call_id="call_1", namespace="clock", deltas=3
    )
    server.enqueue(Reply.of(message("Let me wait."), call))
    events = await sdk_events(sdk)
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(deltas) == 3
    assert json.loads("".join(deltas)) == {"duration_ms": 300}
    items = [e.item for e in events if e.type == "response.output_item.done"]
    assert [item.type for item in items] == ["message", "function_call"]
    done = items[1].model_dump()
    assert done["call_id"] == "call_1"
    assert (done["name"], done["namespace"]) == ("sleep", "clock")
    assert done["arguments"] == '{"duration_ms": 300}'
    assert [item.id for item in events[-1].response.output] == [item.id for item in items]


async def test_custom_tool_call_streams_freeform_input(
    server: ModelServer, sdk: AsyncOpenAI
) -> None:
    server.enqueue(Reply.custom_tool_call("apply_patch", PATCH, call_id="call_2", deltas=2))
    events = await sdk_events(sdk)
    deltas = [e.delta for e in events if e.type == "response.custom_tool_call_input.delta"]
    assert "".join(deltas) == PATCH
    (done,) = [e.item for e in events if e.type == "response.output_item.done"]
    assert (done.type, done.name, done.call_id, done.input) == (
        "custom_tool_call",
        "apply_patch",
        "call_2",
        PATCH,
    )


async def test_requests_are_recorded_with_path_query_headers_and_body(
    server: ModelServer, sdk: AsyncOpenAI
) -> None:
    server.enqueue(Reply.text("ok"))
    stream = await sdk.responses.create(
        model="gpt-test",
        input=[{"role": "user", "content": "hello"}],
        stream=True,
        extra_headers={"X-Codex-Window-Id": "thread:0"},
        extra_query={"api-version": "1"},
    )
    async for _ in stream:
        pass
    (request,) = await server.wait_for_requests(1)
    assert (request.method, request.path) == ("POST", "/v1/responses")
    assert request.params == {"api-version": ["1"]}
    assert request.headers["authorization"] == "Bearer test"
    assert request.headers["x-codex-window-id"] == "thread:0"
    assert request.body["input"] == [{"role": "user", "content": "hello"}]
    assert request.body["stream"] is True
    assert request.scripted


async def test_chunked_request_body_is_recorded(
    server: ModelServer, http: httpx2.AsyncClient
) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b'{"model": "gpt-test", '
        yield b'"stream": true}'

    async with http.stream("POST", f"{server.base_url}/responses", content=body()) as response:
        await response.aread()
    (request,) = server.requests
    assert request.headers["transfer-encoding"] == "chunked"
    assert request.body == {"model": "gpt-test", "stream": True}


async def test_zstd_request_body_is_decoded(server: ModelServer, http: httpx2.AsyncClient) -> None:
    compressed = zstandard.ZstdCompressor().compress(json.dumps(BODY).encode())
    headers = {"content-encoding": "zstd", "content-type": "application/json"}
    url = f"{server.base_url}/responses"
    async with http.stream("POST", url, content=compressed, headers=headers) as response:
        await response.aread()
    assert server.requests[0].body == BODY


async def test_scripted_replies_are_consumed_in_order_then_default_ok(
    server: ModelServer, sdk: AsyncOpenAI
) -> None:
    server.enqueue(Reply.text("first"), Reply.text("second"))
    texts = []
    for _ in range(3):
        events = await sdk_events(sdk)
        texts.append("".join(e.delta for e in events if e.type == "response.output_text.delta"))
    assert texts == ["first", "second", "ok"]
    assert server.unscripted_requests == 1
    assert [r.scripted for r in server.requests] == [True, True, False]
    assert server.pending_replies == 0


async def test_keep_alive_serves_sequential_requests_on_one_connection(
    server: ModelServer, sdk: AsyncOpenAI
) -> None:
    for _ in range(3):
        await sdk_events(sdk)
    assert len({r.connection_id for r in server.requests}) == 1


async def test_http_500_returns_openai_error_body(
    server: ModelServer, http: httpx2.AsyncClient
) -> None:
    server.enqueue(Reply.server_error("boom"))
    response = await http.post(f"{server.base_url}/responses", json=BODY)
    assert response.status_code == 500
    assert response.json()["error"]["message"] == "boom"
    assert response.json()["error"]["type"] == "server_error"


async def test_http_429_carries_retry_after(server: ModelServer, sdk: AsyncOpenAI) -> None:
    server.enqueue(Reply.rate_limited(retry_after=2))
    with pytest.raises(openai.RateLimitError) as caught:
        await sdk_events(sdk)
    assert caught.value.response.headers["retry-after"] == "2"


async def test_http_400_context_length_exceeded_has_openai_error_code(
    server: ModelServer, sdk: AsyncOpenAI
) -> None:
    server.enqueue(Reply.context_length_exceeded(), Reply.unauthorized())
    with pytest.raises(openai.BadRequestError) as bad_request:
        await sdk_events(sdk)
    assert bad_request.value.code == "context_length_exceeded"
    with pytest.raises(openai.AuthenticationError):
        await sdk_events(sdk)


async def test_unknown_path_is_404_and_keeps_the_queue(
    server: ModelServer, http: httpx2.AsyncClient
) -> None:
    server.enqueue(Reply.text("kept"))
    response = await http.post(f"{server.base_url}/embeddings", json={})
    assert response.status_code == 404
    assert "error" in response.json()
    assert server.requests[0].path == "/v1/embeddings"
    assert server.pending_replies == 1


async def test_mid_stream_disconnect_ends_without_response_completed(
    server: ModelServer, http: httpx2.AsyncClient
) -> None:
    server.enqueue(Reply.text("abcdef", deltas=3).disconnect_after(5))
    received: list[dict[str, Any]] = []
    with pytest.raises(httpx2.RemoteProtocolError):
        async with http.stream("POST", f"{server.base_url}/responses", json=BODY) as response:
            await collect(response, received)
    assert len(received) == 5
    assert "response.completed" not in types(received)


async def test_sdk_reports_mid_stream_disconnect_as_connection_error(
    server: ModelServer, sdk: AsyncOpenAI
) -> None:
    server.enqueue(Reply.text("abcdef", deltas=3).disconnect_after(5))
    with pytest.raises(openai.APIConnectionError):
        await sdk_events(sdk)


async def test_hang_after_frames_until_released(
    server: ModelServer, http: httpx2.AsyncClient
) -> None:
    release, reached = asyncio.Event(), asyncio.Event()
    server.enqueue(Reply.text("abcdef", deltas=3).hang_after(5, release, reached))
    received: list[dict[str, Any]] = []
    async with http.stream("POST", f"{server.base_url}/responses", json=BODY) as response:
        reader = asyncio.create_task(collect(response, received))
        await asyncio.wait_for(reached.wait(), 5)
        await asyncio.sleep(0.2)
        assert len(received) == 5
        release.set()
        await asyncio.wait_for(reader, 5)
    assert types(received)[-1] == "response.completed"
    assert len(received) == len(responses_events(Reply.text("abcdef", deltas=3)))


async def test_client_hanging_up_mid_stream_counts_an_aborted_stream(
    server: ModelServer, http: httpx2.AsyncClient
) -> None:
    release = asyncio.Event()
    server.enqueue(Reply.text("abcdef", deltas=3).hang_after(5, release))
    async with http.stream("POST", f"{server.base_url}/responses", json=BODY) as response:
        async for event in sse_events(response):
            if event["type"] == "response.output_text.delta":
                break
    await server.wait_for_aborted_streams(1, timeout=5)
    assert server.aborted_streams == 1


async def test_stop_closes_a_hung_stream(server: ModelServer, http: httpx2.AsyncClient) -> None:
    reached = asyncio.Event()
    server.enqueue(Reply.text("abc").hang_after(2, asyncio.Event(), reached))
    received: list[dict[str, Any]] = []
    async with http.stream("POST", f"{server.base_url}/responses", json=BODY) as response:
        reader = asyncio.create_task(collect(response, received))
        await asyncio.wait_for(reached.wait(), 5)
        await asyncio.wait_for(server.stop(), 5)
        with pytest.raises(httpx2.RemoteProtocolError):
            await asyncio.wait_for(reader, 5)
    assert len(received) == 2


async def test_delays_before_first_byte_and_between_frames(
    server: ModelServer, http: httpx2.AsyncClient
) -> None:
    reply = Reply.text("abcd", deltas=4).delayed(first_byte=0.2, between_frames=0.02)
    frames = len(responses_events(reply))
    server.enqueue(reply)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with http.stream("POST", f"{server.base_url}/responses", json=BODY) as response:
        first_byte = loop.time() - started
        await response.aread()
    total = loop.time() - started
    assert first_byte >= 0.2
    assert total >= 0.2 + (frames - 1) * 0.02


async def test_safety_buffering_and_headers_on_response_created(
    server: ModelServer, http: httpx2.AsyncClient
) -> None:
    reply = (
        Reply.text("careful")
        .with_safety_buffering(["cyber"], ["policy-check"], retry_model="gpt-faster")
        .with_headers(
            {
                "x-codex-safety-buffering-enabled": "true",
                "x-codex-safety-buffering-faster-model": "gpt-faster",
            },
            openai_model="gpt-rerouted",
        )
    )
    server.enqueue(reply)
    async with http.stream("POST", f"{server.base_url}/responses", json=BODY) as response:
        events = [event async for event in sse_events(response)]
    assert events[0]["type"] == "response.created"
    assert events[0]["safety_buffering"] == {
        "use_cases": ["cyber"],
        "reasons": ["policy-check"],
        "retry_model": "gpt-faster",
    }
    assert all("safety_buffering" not in event for event in events[1:])
    assert response.headers["x-codex-safety-buffering-enabled"] == "true"
    assert response.headers["x-codex-safety-buffering-faster-model"] == "gpt-faster"
    assert response.headers["openai-model"] == "gpt-rerouted"


async def test_event_field_is_added_to_events_of_that_type(
    server: ModelServer, http: httpx2.AsyncClient
) -> None:
    metadata = {"flagged": False, "categories": []}
    server.enqueue(
        Reply.text("ab", deltas=2).with_event_field(
            "response.output_text.delta", "openai_chatgpt_moderation_metadata", metadata
        )
    )
    async with http.stream("POST", f"{server.base_url}/responses", json=BODY) as response:
        events = [event async for event in sse_events(response)]
    tagged = [e["type"] for e in events if "openai_chatgpt_moderation_metadata" in e]
    assert tagged == ["response.output_text.delta"] * 2


async def test_response_failed_event_carries_error(server: ModelServer, sdk: AsyncOpenAI) -> None:
    server.enqueue(Reply.failed("server_is_overloaded", "Try again later.", message("partial")))
    events = await sdk_events(sdk)
    assert events[-1].type == "response.failed"
    assert events[-1].response.error.code == "server_is_overloaded"
    assert events[-1].response.error.message == "Try again later."
    assert "response.completed" not in types(events)


async def test_chat_completions_renders_a_text_reply(server: ModelServer, sdk: AsyncOpenAI) -> None:
    server.enqueue(Reply.text("Hello there, friend!", deltas=4).with_usage(Usage(input_tokens=3)))
    stream = await sdk.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    chunks = [chunk async for chunk in stream]
    contents = [c.choices[0].delta.content for c in chunks if c.choices]
    assert "".join(content or "" for content in contents) == "Hello there, friend!"
    assert len([content for content in contents if content]) == 4
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.total_tokens) == (3, 23)
    assert server.requests[0].path == "/v1/chat/completions"


async def test_chat_completions_renders_a_tool_call(server: ModelServer, sdk: AsyncOpenAI) -> None:
    call = function_call("exec_command", {"cmd": "echo hi"}, call_id="call_1", deltas=3)
    server.enqueue(Reply.of(message("Running it."), call))
    stream = await sdk.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    name, call_id, arguments, finish = None, None, "", None
    async for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for tool_call in choice.delta.tool_calls or []:
                assert tool_call.index == 0
                call_id = tool_call.id or call_id
                if tool_call.function is not None:
                    name = tool_call.function.name or name
                    arguments += tool_call.function.arguments or ""
    assert (name, call_id, finish) == ("exec_command", "call_1", "tool_calls")
    assert json.loads(arguments) == {"cmd": "echo hi"}


async def test_chat_completions_use_data_only_framing_and_done(
    server: ModelServer, http: httpx2.AsyncClient
) -> None:
    server.enqueue(Reply.text("Hi"))
    response = await http.post(f"{server.base_url}/chat/completions", json=BODY)
    blocks = response.content.split(b"\n\n")
    assert blocks[-2:] == [b"data: [DONE]", b""]
    assert all(block.startswith(b"data: {") for block in blocks[:-2])


async def test_twenty_thousand_deltas_stream_correctly_and_fast(
    server: ModelServer, http: httpx2.AsyncClient
) -> None:
    text = "lorem " * 20_000
    server.enqueue(Reply.text(text, deltas=20_000))
    started = time.perf_counter()
    deltas: list[str] = []
    async with http.stream("POST", f"{server.base_url}/responses", json=BODY) as response:
        async for event in sse_events(response):
            if event["type"] == "response.output_text.delta":
                deltas.append(event["delta"])
    elapsed = time.perf_counter() - started
    assert len(deltas) == 20_000
    assert "".join(deltas) == text
    print(f"\n20,000 deltas in {elapsed:.3f}s = {len(deltas) / elapsed:,.0f} deltas/s")
    assert elapsed < 10
