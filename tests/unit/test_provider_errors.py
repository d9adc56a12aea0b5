"""HTTP status answers → `ProviderError`, as the providers classify them (pure functions)."""

from __future__ import annotations

from app_server.agent.providers.provider_errors import status_error


def test_status_error_details_are_the_summary_then_the_body() -> None:
    body = '{"error": {"message": "bad tools", "code": "invalid_value"}}'
    error = status_error(400, "Bad Request", {}, body)
    assert error.message == "unexpected status 400 Bad Request: bad tools"
    assert error.details == f"Error code: 400 - bad tools\n{body}"


def test_status_error_with_a_body_that_is_not_json_quotes_the_text() -> None:
    error = status_error(400, "Bad Request", {}, "  no json here \n")
    assert (error.codex_error_info, error.http_status) == ("badRequest", 400)
    assert error.message == "unexpected status 400 Bad Request: no json here"
    assert error.details == "Error code: 400\nno json here"


def test_status_error_prefers_retry_after_ms_to_retry_after() -> None:
    headers = {"retry-after-ms": "1500", "retry-after": "9"}
    error = status_error(429, "Too Many Requests", headers, '{"error": {"message": "slow"}}')
    assert (error.codex_error_info, error.retry) == ("rateLimitExceeded", "request")
    assert error.retry_after_seconds == 1.5


def test_status_error_5xx_overloaded_code_keeps_the_server_message() -> None:
    body = '{"error": {"message": "busy", "code": "server_is_overloaded"}}'
    error = status_error(503, "Service Unavailable", {}, body)
    assert (error.codex_error_info, error.message, error.retry) == (
        "serverOverloaded",
        "busy",
        "request",
    )
