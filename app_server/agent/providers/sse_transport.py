"""The HTTP side both providers share: one pooled `httpx` client, a streamed POST, SSE decoding.

A provider sends `POST {base_url}{path}` with a JSON body and `Accept: text/event-stream`, and
reads the answer as Server-Sent Events (`httpx-sse`), each `data` payload decoded with `orjson`
into a plain dict. Events pass through as they came — unknown types and extra fields such as
`safety_buffering` included — because the stream mapper, not this module, decides what matters.

The request is what codex sends and nothing more: the configured static headers (with
`Authorization: Bearer <key>` when there is a key and no configured `Authorization`), the
request's own headers, the configured query parameters. Failures become `ProviderError`s
(`provider_errors`); the turn runner owns the retries, so nothing here retries.

This module imports `httpx` (~65 ms), so `factory` imports it only when the first provider is
built: a server that never samples never pays for it. Decoding with `httpx-sse` costs about 5 µs
per event (one async step per SSE line) where the hand-written bytes decoder it replaced cost 2;
at 20,000 text deltas that is ~60 ms more per stream, the price of a maintained parser.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

HTTPX_CLI_MODULE = "httpx._main"
"""httpx's command-line tool, which its package imports on import: with click installed (MCP
brings it, through uvicorn) and pygments (pytest's, in a development install) that is ~10 ms, a
third of importing httpx, on the first turn's path (issue 17). The server never runs that tool,
so the module is marked missing before httpx is imported (`None` in `sys.modules` fails the
import; httpx then defines a stub `main` that asks for its `cli` extra, as when click is not
installed). A process that imported httpx earlier keeps the real one."""
sys.modules.setdefault(HTTPX_CLI_MODULE, None)  # type: ignore[arg-type]  # None blocks the import

import httpx  # noqa: E402
import orjson  # noqa: E402
from httpx_sse import EventSource  # noqa: E402

from app_server.agent.providers.base import RESPONSE_HEADERS_EVENT, ProviderError  # noqa: E402
from app_server.agent.providers.provider_config import (  # noqa: E402
    ProviderConfig,
    resolve_headers,
)
from app_server.agent.providers.provider_errors import (  # noqa: E402
    connection_error,
    describe,
    idle_timeout_error,
    status_error,
    stream_error,
)
from app_server.agent.providers.tls_context import default_ssl_context  # noqa: E402

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 30.0
"""How long opening a connection (TCP + TLS) may take before the request fails as a connection
error (retried under `request_max_retries`). Reading is bounded by `stream_idle_timeout_ms`."""
WRITE_TIMEOUT_SECONDS = 60.0
"""How long sending one piece of the request body may stall (a long history is megabytes)."""
POOL_TIMEOUT_SECONDS = 30.0
"""How long a request waits for a free pooled connection before failing as a connection error."""
MAX_CONNECTIONS = 1000
MAX_KEEPALIVE_CONNECTIONS = 100
"""Per provider (the `openai` SDK's pool sizes, kept): every concurrent turn or sub-agent holds
one connection while it streams; an idle kept-alive one costs a socket and a few KB."""
DRAIN_TIMEOUT_SECONDS = 0.5
"""After the last event, how long to wait for the body's end so the connection goes back to the
pool; a server that keeps the stream open past that gets its connection closed."""
SSE_DONE_TYPE = "[DONE]"
"""`type` of the event yielded for `data: [DONE]` (Chat Completions' terminator)."""
SSE_CONTENT_TYPE = "text/event-stream"
DEFAULT_SSE_EVENT = "message"
"""The SSE event type of a frame without an `event:` line; it names no Responses event."""
_FRAME_END = "\n\n"


class SseProvider:
    """What both providers share: the pooled client, the retry budgets, the SSE stream."""

    def __init__(
        self,
        config: ProviderConfig,
        api_key: str | None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """`headers` are the provider's static headers (default: `resolve_headers` on the
        process environment); per-request headers come with each `SamplingRequest`."""
        self.config = config
        static = dict(resolve_headers(config, os.environ) if headers is None else headers)
        if api_key and not any(name.lower() == "authorization" for name in static):
            static["Authorization"] = f"Bearer {api_key}"
        self.client = httpx.AsyncClient(
            base_url=config.base_url,
            headers=static,
            params=dict(config.query_params),
            timeout=httpx.Timeout(
                connect=CONNECT_TIMEOUT_SECONDS,
                read=config.stream_idle_timeout_ms / 1000,
                write=WRITE_TIMEOUT_SECONDS,
                pool=POOL_TIMEOUT_SECONDS,
            ),
            limits=httpx.Limits(
                max_connections=MAX_CONNECTIONS,
                max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS,
            ),
            follow_redirects=True,
            verify=default_ssl_context(),
        )

    @property
    def provider_id(self) -> str:
        return self.config.id

    @property
    def request_max_retries(self) -> int:
        return self.config.request_max_retries

    @property
    def stream_max_retries(self) -> int:
        return self.config.stream_max_retries

    async def aclose(self) -> None:
        """Close the pooled connections (server shutdown)."""
        await self.client.aclose()

    async def _sse(
        self, path: str, body: Mapping[str, Any], headers: Mapping[str, str]
    ) -> AsyncGenerator[dict[str, Any], None]:
        """POST `body` to `path`; yield the headers event, then every SSE payload as a dict.

        Leaving early (close, cancellation) closes the HTTP response at once. Transport
        failures and status errors become `ProviderError`s.
        """
        request = self.client.build_request(
            "POST",
            path,
            content=orjson.dumps(body),
            headers={"Accept": SSE_CONTENT_TYPE, "Content-Type": "application/json", **headers},
        )
        try:
            response = await self.client.send(request, stream=True)
        except httpx.ReadTimeout:
            raise idle_timeout_error() from None
        except httpx.RequestError as exc:
            raise connection_error(str(request.url), exc) from exc
        try:
            if response.status_code >= 400:
                raise status_error(
                    response.status_code,
                    response.reason_phrase,
                    response.headers,
                    await _error_body(response),
                )
            headers_event = {k.lower(): v for k, v in response.headers.items()}
            yield {"type": RESPONSE_HEADERS_EVENT, "headers": headers_event}
            try:
                async with contextlib.aclosing(sse_payloads(response)) as events:
                    async for event in events:
                        yield event
            except httpx.ReadTimeout:
                raise idle_timeout_error() from None
            except httpx.RequestError as exc:
                raise stream_error(describe(exc)) from exc
        finally:
            await response.aclose()

    async def _drain(self, events: AsyncIterator[dict[str, Any]]) -> None:
        """Read the rest of a finished body (briefly) so its connection can be reused."""
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT_SECONDS):
                async for _ in events:
                    pass
        except (TimeoutError, ProviderError):
            pass


async def sse_payloads(response: httpx.Response) -> AsyncGenerator[dict[str, Any], None]:
    """The JSON-object `data` payloads of an SSE body, as dicts, decoded by `httpx-sse`.

    A frame's `event:` name fills in a missing `type`; comments, `id:` and `retry:` are
    ignored; `data: [DONE]` becomes `{"type": SSE_DONE_TYPE}`; a payload that is not a JSON
    object is skipped with a debug log (as codex does). Like codex, the body is read as SSE
    whatever its `Content-Type` (a 200 that is not SSE yields nothing, and the caller reports
    the stream as cut), and a last frame the server closed without its blank line still counts.
    """
    events = EventSource(_SseBody(response)).aiter_sse()
    try:
        async for sse in events:
            data = sse.data
            if not data:
                continue
            if data == SSE_DONE_TYPE:
                yield {"type": SSE_DONE_TYPE}
                continue
            try:
                event = orjson.loads(data)
            except orjson.JSONDecodeError:
                log.debug("skipping SSE data that is not JSON: %.200r", data)
                continue
            if not isinstance(event, dict):
                log.debug("skipping SSE data that is not an object: %.200r", data)
                continue
            if "type" not in event and sse.event != DEFAULT_SSE_EVENT:
                event["type"] = sse.event
            yield event
    finally:
        await events.aclose()


class _SseBody(httpx.Response):
    """`response`'s text as `httpx-sse` should read it: labelled `text/event-stream` whatever
    the server said, and ended with a blank line that completes a frame cut at the end of the
    body (httpx-sse, following the SSE spec, would drop it).

    `EventSource` reads only `headers` and `aiter_text()`; the text is `response`'s own (its
    content decoding and charset, UTF-8 by default), one chunk per network read.
    """

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code, headers={"content-type": SSE_CONTENT_TYPE})
        self._body = response

    async def aiter_text(self, chunk_size: int | None = None) -> AsyncIterator[str]:
        async for text in self._body.aiter_text(chunk_size):
            yield text
        yield _FRAME_END


async def _error_body(response: httpx.Response) -> str:
    """An error answer's body text ("" if it cannot be read: the status still classifies)."""
    try:
        await response.aread()
    except httpx.HTTPError:
        return ""
    return response.text
