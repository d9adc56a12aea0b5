"""The Responses API provider (`wire_api = "responses"`), over the official `openai` SDK.

The SDK sends the request (auth, base URL, query params, connection pooling, status errors) but
its typed per-event stream models cost more than the model takes to produce the events, so the
body is read raw (`with_streaming_response`) and each SSE frame is decoded with `orjson` into a
plain dict. Events pass through as they came — unknown types and extra fields such as
`safety_buffering` included — because the stream mapper, not this module, decides what matters.

Failures become `ProviderError`s classified as codex 0.169 does (AGENT_LOOP.md §8); the turn
runner owns the retries, so the SDK's own retries are off (`max_retries=0`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

import httpx2
import openai
import orjson
from openai import AsyncAPIResponse, AsyncOpenAI, Omit
from openai._response import AsyncResponseContextManager

from app_server.agent.providers.base import (
    RESPONSE_HEADERS_EVENT,
    ErrorBudget,
    ProviderError,
    SamplingRequest,
)
from app_server.agent.providers.provider_config import ProviderConfig, resolve_headers

log = logging.getLogger(__name__)

NO_KEY_PLACEHOLDER = "no-key"
"""Given to the SDK for providers without a key (it refuses an empty one); never sent."""
CONNECT_TIMEOUT_SECONDS = 30.0
WRITE_TIMEOUT_SECONDS = 60.0
POOL_TIMEOUT_SECONDS = 30.0
DRAIN_TIMEOUT_SECONDS = 0.5
"""After `response.completed`, how long to wait for the body's end so the connection goes back
to the pool; a server that keeps the stream open past that gets its connection closed."""
SSE_DONE_TYPE = "[DONE]"
"""`type` of the event the decoder yields for `data: [DONE]` (Chat Completions' terminator)."""

HIGH_DEMAND_MESSAGE = (
    "We\u2019re currently experiencing high demand, which may cause temporary errors."
)
"""Codex 0.169's message for HTTP 5xx (observed, AGENT_LOOP.md §8.2)."""
CONTEXT_WINDOW_MESSAGE = (
    "Codex ran out of room in the model's context window. Start a new thread or clear earlier "
    "history before retrying."
)
USAGE_LIMIT_CODES = frozenset({"usage_limit_reached", "insufficient_quota"})
OVERLOADED_CODES = frozenset({"server_is_overloaded", "slow_down"})
_TRY_AGAIN_RE = re.compile(r"try again in (\d+(?:\.\d+)?)\s*(ms|s)", re.IGNORECASE)


class SseDecoder:
    """Incremental SSE decoder: bytes in, JSON `data` payloads out as dicts.

    Synchronous and allocation-light on purpose — it sits under every text delta. A frame's
    `event:` name fills in a missing `type`; comments, `id:` and `retry:` are ignored; a `data`
    payload that is not a JSON object is skipped with a debug log (as codex does).
    """

    __slots__ = ("_data", "_event", "_pending")

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._data: list[bytes] = []
        self._event: bytes | None = None

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """Decode every frame `chunk` completes."""
        if b"\n" not in chunk:
            self._pending.append(chunk)
            return []
        if self._pending:
            self._pending.append(chunk)
            chunk = b"".join(self._pending)
            self._pending.clear()
        lines = chunk.split(b"\n")
        tail = lines.pop()
        if tail:
            self._pending.append(tail)
        events: list[dict[str, Any]] = []
        data = self._data
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    self._dispatch(events)
                self._event = None
            elif line.startswith(b"data:"):
                data.append(line[6:] if line.startswith(b"data: ") else line[5:])
            elif line.startswith(b"event:"):
                self._event = line[6:].strip()
        return events

    def flush(self) -> list[dict[str, Any]]:
        """At end of body: a last frame without its blank line still counts."""
        events = self.feed(b"\n") if self._pending else []
        if self._data:
            self._dispatch(events)
        return events

    def _dispatch(self, events: list[dict[str, Any]]) -> None:
        data = self._data
        payload = data[0] if len(data) == 1 else b"\n".join(data)
        data.clear()
        if payload == b"[DONE]":
            events.append({"type": SSE_DONE_TYPE})
            return
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.debug("skipping SSE data that is not JSON: %.200r", payload)
            return
        if not isinstance(event, dict):
            log.debug("skipping SSE data that is not an object: %.200r", payload)
            return
        if "type" not in event and self._event:
            event["type"] = self._event.decode("utf-8", "replace")
        events.append(event)


class SdkProvider:
    """What both SDK-backed providers share: the client, the budgets, the raw SSE stream."""

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
        default_headers = dict(resolve_headers(config, os.environ) if headers is None else headers)
        self._omit_auth = api_key is None and not any(
            name.lower() == "authorization" for name in default_headers
        )
        self.client = AsyncOpenAI(
            api_key=api_key or NO_KEY_PLACEHOLDER,
            base_url=config.base_url,
            default_headers=default_headers,
            default_query=dict(config.query_params),
            max_retries=0,
            timeout=httpx2.Timeout(
                connect=CONNECT_TIMEOUT_SECONDS,
                read=config.stream_idle_timeout_ms / 1000,
                write=WRITE_TIMEOUT_SECONDS,
                pool=POOL_TIMEOUT_SECONDS,
            ),
        )
        # Only configured headers go out: not the SDK's OPENAI_ORG_ID / OPENAI_PROJECT_ID.
        self.client.organization = self.client.project = None

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
        await self.client.close()

    def _headers(self, request: SamplingRequest) -> dict[str, str | Omit]:
        headers: dict[str, str | Omit] = {"Accept": "text/event-stream", **request.headers}
        if self._omit_auth:
            headers["Authorization"] = Omit()
        return headers

    async def _sse(
        self, opening: AsyncResponseContextManager[AsyncAPIResponse[Any]]
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Open the request; yield the headers event, then every SSE payload as a dict.

        Leaving early (close, cancellation) exits the SDK's context manager, which closes the
        HTTP response at once. Transport failures and status errors become `ProviderError`s.
        """
        try:
            async with opening as response:
                headers = {k.lower(): v for k, v in response.headers.items()}
                yield {"type": RESPONSE_HEADERS_EVENT, "headers": headers}
                decoder = SseDecoder()
                try:
                    async for chunk in response.iter_bytes():
                        for event in decoder.feed(chunk):
                            yield event
                except httpx2.ReadTimeout:
                    raise stream_error("idle timeout waiting for SSE") from None
                except httpx2.RequestError as exc:
                    raise stream_error(_describe(exc)) from exc
                for event in decoder.flush():
                    yield event
        except openai.APIError as exc:
            raise classify_api_error(exc) from exc

    async def _drain(self, events: AsyncIterator[dict[str, Any]]) -> None:
        """Read the rest of a finished body (briefly) so its connection can be reused."""
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT_SECONDS):
                async for _ in events:
                    pass
        except (TimeoutError, ProviderError):
            pass


class ResponsesProvider(SdkProvider):
    """`POST {base_url}/responses` with `stream: true`; yields the SSE events as dicts."""

    async def stream(self, request: SamplingRequest) -> AsyncGenerator[dict[str, Any], None]:
        """Headers event, then every event up to and including `response.completed`.

        Raises `ProviderError` for HTTP errors, `response.failed` / `response.incomplete` /
        `error` events, an idle stream, and a body that ends before `response.completed`.
        """
        opening = self.client.responses.with_streaming_response.create(
            model=request.model,
            stream=True,
            extra_body=responses_body(request),
            extra_headers=self._headers(request),
        )
        events = self._sse(opening)
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


_FAILURE_EVENTS = frozenset({"response.failed", "response.incomplete", "error"})


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


def stream_error(reason: str, *, details: str | None = None) -> ProviderError:
    """A stream that broke off: retried under `stream_max_retries`."""
    return ProviderError(
        f"stream disconnected before completion: {reason}",
        codex_error_info={"responseStreamDisconnected": {"httpStatusCode": None}},
        retry="stream",
        details=details or reason,
    )


def failure_event_error(event: Mapping[str, Any]) -> ProviderError:
    """`response.failed`, `response.incomplete` or an `error` event → `ProviderError`."""
    kind = event.get("type")
    raw_response = event.get("response")
    response: Mapping[str, Any] = raw_response if isinstance(raw_response, Mapping) else {}
    details = orjson.dumps(event, default=str).decode()
    if kind == "response.incomplete":
        incomplete = response.get("incomplete_details") or {}
        reason = incomplete.get("reason") if isinstance(incomplete, Mapping) else None
        return ProviderError(
            f"Incomplete response returned, reason: {reason or 'unknown'}",
            codex_error_info="other",
            details=details,
        )
    raw_error = response.get("error") if kind == "response.failed" else event.get("error", event)
    error: Mapping[str, Any] = raw_error if isinstance(raw_error, Mapping) else {}
    code = error.get("code") or (error.get("type") if error is not event else None)
    message = str(error.get("message") or code or "response failed")
    if code == "context_length_exceeded":
        return ProviderError(
            CONTEXT_WINDOW_MESSAGE, codex_error_info="contextWindowExceeded", details=details
        )
    if code in USAGE_LIMIT_CODES:
        return ProviderError(message, codex_error_info="usageLimitExceeded", details=details)
    if kind == "response.failed":
        # Observed: a failed response ends the turn as `other` once retries run out.
        return ProviderError(
            f"stream disconnected before completion: {message}",
            codex_error_info="other",
            retry="stream",
            retry_after_seconds=_try_again_after(message),
            details=details,
        )
    failure = stream_error(message, details=details)
    failure.retry_after_seconds = _try_again_after(message)
    return failure


def classify_api_error(exc: openai.APIError) -> ProviderError:
    """An SDK error from opening the request → `ProviderError` (AGENT_LOOP.md §8.2)."""
    if isinstance(exc, openai.APIStatusError):
        return _classify_status(exc)
    cause = exc.__cause__
    if isinstance(exc, openai.APITimeoutError) and isinstance(cause, httpx2.ReadTimeout):
        return stream_error("idle timeout waiting for SSE")
    if isinstance(exc, openai.APIConnectionError):
        detail = _describe(cause) if isinstance(cause, BaseException) else exc.message
        return ProviderError(
            f"Connection to {exc.request.url} failed: {detail}",
            codex_error_info={"httpConnectionFailed": {"httpStatusCode": None}},
            retry="request",
            details=detail,
        )
    return ProviderError(exc.message, codex_error_info="other", details=str(exc))


def _classify_status(exc: openai.APIStatusError) -> ProviderError:
    status = exc.status_code
    response = exc.response
    body = exc.body if isinstance(exc.body, Mapping) else {}
    code = exc.code or body.get("type")
    text = _body_text(response)
    details = f"{exc.message}\n{text}" if text and text not in exc.message else exc.message
    reason = response.reason_phrase or ""
    server_message = body.get("message") if isinstance(body.get("message"), str) else None
    plain = f"unexpected status {status} {reason}: {server_message or text or exc.message}"
    retry_after = _retry_after(response.headers)

    def error(message: str, info: Any, retry: ErrorBudget = "none") -> ProviderError:
        return ProviderError(
            message,
            codex_error_info=info,
            http_status=status,
            retry=retry,
            retry_after_seconds=retry_after,
            details=details,
        )

    if status in (401, 403):
        return error(plain, "unauthorized")
    if status == 429:
        if code in USAGE_LIMIT_CODES:
            return error(server_message or "You've hit your usage limit.", "usageLimitExceeded")
        return error(server_message or plain, "rateLimitExceeded", "request")
    if status >= 500:
        if code in OVERLOADED_CODES:
            return error(server_message or plain, "serverOverloaded", "request")
        return error(HIGH_DEMAND_MESSAGE, "internalServerError", "request")
    if code == "context_length_exceeded":
        return error(CONTEXT_WINDOW_MESSAGE, "contextWindowExceeded")
    if status == 404:
        return error(plain, "modelNotFound")
    return error(plain, "badRequest")


def _body_text(response: httpx2.Response) -> str:
    try:
        return response.text.strip()
    except httpx2.ResponseNotRead:
        return ""


def _retry_after(headers: httpx2.Headers) -> float | None:
    """`retry-after-ms` or `retry-after` (seconds) as seconds; dates are ignored."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) / divisor)
            except ValueError:
                continue
    return None


def _try_again_after(message: str) -> float | None:
    """OpenAI's rate-limit messages say "Please try again in 1.5s" / "in 20ms"."""
    match = _TRY_AGAIN_RE.search(message)
    if not match:
        return None
    value = float(match.group(1))
    return value / 1000 if match.group(2).lower() == "ms" else value


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
