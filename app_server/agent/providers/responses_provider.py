"""The Responses API provider (`wire_api = "responses"`): `POST {base_url}/responses`.

The request body is the `SamplingRequest`'s fields as the Responses API names them; the answer
is read as SSE by `sse_transport` and passed through event by event, up to and including
`response.completed`. Failure events (`response.failed`, `response.incomplete`, `error`) and a
body that ends early become `ProviderError`s classified by `provider_errors`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from app_server.agent.providers.base import SamplingRequest
from app_server.agent.providers.provider_errors import failure_event_error, stream_error
from app_server.agent.providers.sse_transport import SSE_DONE_TYPE, SseProvider

RESPONSES_PATH = "/responses"
_FAILURE_EVENTS = frozenset({"response.failed", "response.incomplete", "error"})


class ResponsesProvider(SseProvider):
    """`POST {base_url}/responses` with `stream: true`; yields the SSE events as dicts."""

    async def stream(self, request: SamplingRequest) -> AsyncGenerator[dict[str, Any], None]:
        """Headers event, then every event up to and including `response.completed`.

        Raises `ProviderError` for HTTP errors, `response.failed` / `response.incomplete` /
        `error` events, an idle stream, and a body that ends before `response.completed`.
        """
        body = {"model": request.model, "stream": True, **responses_body(request)}
        events = self._sse(RESPONSES_PATH, body, request.headers)
        try:
            async for event in events:
                kind = event.get("type")
                if kind == "response.completed":
                    yield event
                    await self._drain(events)
                    return
                if kind in _FAILURE_EVENTS:
                    raise failure_event_error(event)
                if kind != SSE_DONE_TYPE:
                    yield event
            raise stream_error("stream closed before response.completed")
        finally:
            await events.aclose()


def responses_body(request: SamplingRequest) -> dict[str, Any]:
    """The `POST /responses` body fields besides `model` and `stream`; None fields omitted."""
    body: dict[str, Any] = {
        "input": request.input,
        "tools": request.tools,
        "tool_choice": request.tool_choice,
        "parallel_tool_calls": request.parallel_tool_calls,
        "store": request.store,
        "include": request.include,
    }
    optional = {
        "instructions": request.instructions,
        "reasoning": request.reasoning,
        "text": request.text,
        "prompt_cache_key": request.prompt_cache_key,
        "client_metadata": request.client_metadata,
    }
    body.update((key, value) for key, value in optional.items() if value is not None)
    return body
