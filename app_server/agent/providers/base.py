"""The provider interface the turn runner samples through (provider-neutral).

Whatever the wire (Responses API or Chat Completions), a provider turns one `SamplingRequest`
into a stream of **Responses API streaming events as plain dicts** (`{"type":
"response.output_text.delta", "item_id": …, "delta": …}` …, AGENT_LOOP.md §3). That event
vocabulary is rich enough for every backend, so the turn runner has exactly one stream to
understand; the Chat Completions provider translates its chunks into it.

Retries are the runner's job (each retry is announced to clients with an `error` notification
carrying `willRetry`), so a provider never retries silently: it raises `ProviderError` saying
whether, and under which budget, the failure may be retried.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal, Protocol

from msgspec import Struct, field

WireApi = Literal["responses", "chat"]

RESPONSE_HEADERS_EVENT = "app_server.response_headers"
"""Synthetic first event of every stream: `{"type": RESPONSE_HEADERS_EVENT, "headers": {…}}`
with the HTTP response headers, lower-cased (safety buffering and model rerouting travel in
`x-codex-safety-buffering-*` and `openai-model`)."""


class SamplingRequest(Struct, frozen=True):
    """One request to the model: the body fields of `POST /responses` and extra headers."""

    model: str
    input: list[dict[str, Any]]
    """Responses API input items, JSON-ready, in model order."""
    instructions: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str = "auto"
    parallel_tool_calls: bool = True
    reasoning: dict[str, Any] | None = None
    """`{"effort": …, "summary": …}` or None."""
    text: dict[str, Any] | None = None
    """`{"format": {"type": "json_schema", …}}` for `outputSchema`, else None."""
    prompt_cache_key: str | None = None
    store: bool = False
    include: list[str] = field(default_factory=list)
    client_metadata: dict[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra HTTP headers for this request (`session-id`, `x-codex-window-id`, `originator`…)."""


ErrorBudget = Literal["request", "stream", "none"]


class ProviderError(Exception):
    """A sampling attempt failed.

    `codex_error_info` is the wire `CodexErrorInfo` JSON value the turn fails with if the error
    is final (or its retries run out): e.g. `internalServerError` for HTTP 5xx, `other` for a
    stream that broke off. While retrying, the runner reports every attempt as
    `{"responseStreamDisconnected": {"httpStatusCode": …}}`, as codex 0.169 does.
    """

    def __init__(
        self,
        message: str,
        *,
        codex_error_info: Any,
        http_status: int | None = None,
        retry: ErrorBudget = "none",
        retry_after_seconds: float | None = None,
        details: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.codex_error_info = codex_error_info
        self.http_status = http_status
        self.retry: ErrorBudget = retry
        """Which retry budget may retry it: `request_max_retries` (the request failed),
        `stream_max_retries` (the stream broke off), or none (final)."""
        self.retry_after_seconds = retry_after_seconds
        self.details = details
        """The underlying cause, for `additionalDetails`."""


class MissingCredentials(ProviderError):
    """No API key is configured for the provider; the message says what to set."""

    def __init__(self, message: str) -> None:
        super().__init__(message, codex_error_info="unauthorized")


class ModelProvider(Protocol):
    """A configured model provider (`[model_providers.<id>]`)."""

    @property
    def provider_id(self) -> str: ...

    @property
    def request_max_retries(self) -> int: ...

    @property
    def stream_max_retries(self) -> int: ...

    def stream(self, request: SamplingRequest) -> AsyncIterator[dict[str, Any]]:
        """Send the request; yield `RESPONSE_HEADERS_EVENT` first, then the stream's events
        (dicts) until `response.completed`. Raises `ProviderError`; closing the iterator
        (cancellation) aborts the HTTP request at once."""
        ...
