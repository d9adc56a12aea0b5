"""How a failed sampling attempt becomes a `ProviderError`, classified as codex 0.169 does.

Pure functions over what the HTTP layer saw (a status line, headers and body text; a transport
failure; a failure event in the stream), so the classification is one table shared by both wire
APIs and testable without a socket. AGENT_LOOP.md §8 has the observed messages and budgets: 5xx
and 429 are retried under `request_max_retries`, a stream that broke off under
`stream_max_retries`, and 4xx other than 429 are final.

The wording of `details` (`Error code: 500 - <message>` followed by the body) is the one the
official `openai` SDK gave the same responses, so `additionalDetails` did not change when the
SDK was dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from app_server.agent.providers.base import ErrorBudget, ProviderError

HIGH_DEMAND_MESSAGE = (
    "We\u2019re currently experiencing high demand, which may cause temporary errors."
)
"""Codex 0.169's message for HTTP 5xx (observed, AGENT_LOOP.md §8.2)."""
CONTEXT_WINDOW_MESSAGE = (
    "Codex ran out of room in the model's context window. Start a new thread or clear earlier "
    "history before retrying."
)
IDLE_TIMEOUT_REASON = "idle timeout waiting for SSE"
"""Codex's reason when no byte arrived within `stream_idle_timeout_ms`."""
USAGE_LIMIT_CODES = frozenset({"usage_limit_reached", "insufficient_quota"})
OVERLOADED_CODES = frozenset({"server_is_overloaded", "slow_down"})
_TRY_AGAIN_RE = re.compile(r"try again in (\d+(?:\.\d+)?)\s*(ms|s)", re.IGNORECASE)


def stream_error(reason: str, *, details: str | None = None) -> ProviderError:
    """A stream that broke off: retried under `stream_max_retries`."""
    return ProviderError(
        f"stream disconnected before completion: {reason}",
        codex_error_info={"responseStreamDisconnected": {"httpStatusCode": None}},
        retry="stream",
        details=details or reason,
    )


def idle_timeout_error() -> ProviderError:
    """No byte within `stream_idle_timeout_ms` (before or after the headers): a stream error."""
    return stream_error(IDLE_TIMEOUT_REASON)


def connection_error(url: str, exc: BaseException) -> ProviderError:
    """The request could not be sent (refused, DNS, TLS, connect timeout): retried under
    `request_max_retries`."""
    detail = describe(exc)
    return ProviderError(
        f"Connection to {url} failed: {detail}",
        codex_error_info={"httpConnectionFailed": {"httpStatusCode": None}},
        retry="request",
        details=detail,
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


def status_error(
    status: int, reason_phrase: str, headers: Mapping[str, str], text: str
) -> ProviderError:
    """An HTTP 4xx/5xx answer (its body already read into `text`) → `ProviderError`.

    `headers` is looked up by lower-case name (`retry-after-ms`, `retry-after`).
    """
    text = text.strip()
    data = _error_object(text)
    body: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    raw_code = body.get("code")
    code = (str(raw_code) if raw_code is not None else None) or body.get("type")
    raw_message = body.get("message")
    server_message = raw_message if isinstance(raw_message, str) else None
    summary = f"Error code: {status}" + (f" - {server_message}" if server_message else "")
    details = f"{summary}\n{text}" if text and text not in summary else summary
    plain = f"unexpected status {status} {reason_phrase}: {server_message or text or summary}"
    retry_after = _retry_after(headers)

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


def _error_object(text: str) -> Any:
    """The body's `error` object (OpenAI's `{"error": {...}}`), the body itself if it has none,
    or None when it is not JSON."""
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return body.get("error", body) if isinstance(body, Mapping) else body


def _retry_after(headers: Mapping[str, str]) -> float | None:
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


def describe(exc: BaseException) -> str:
    """`ConnectError: [Errno 111] Connection refused`, or the bare type when it says nothing."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
