"""The schema checks used by every end-to-end test do reject contract violations."""

from __future__ import annotations

from tests.support import upstream_schema


def test_result_missing_a_required_field_is_a_violation() -> None:
    message = {"id": 1, "result": {"codexHome": "/x", "platformFamily": "unix"}}
    assert upstream_schema.check_response("initialize", message, experimental=False)


def test_valid_initialize_result_passes() -> None:
    result = {"codexHome": "/x", "platformFamily": "unix", "platformOs": "linux", "userAgent": "u"}
    assert upstream_schema.check_response("initialize", {"id": 1, "result": result}, False) == []


def test_notification_without_emitted_at_is_a_violation() -> None:
    message = {"method": "thread/closed", "params": {"threadId": "t"}}
    assert upstream_schema.check_notification(message, experimental=False)


def test_unknown_notification_method_is_a_violation() -> None:
    message = {"method": "made/up", "params": {}, "emittedAtMs": 1}
    assert upstream_schema.check_notification(message, experimental=False)


def test_error_with_null_id_is_checked_for_code_and_message() -> None:
    assert upstream_schema.check_response("", {"id": None, "error": {"code": "x"}}, False)
    assert (
        upstream_schema.check_response(
            "", {"id": None, "error": {"code": 1, "message": "m"}}, False
        )
        == []
    )
