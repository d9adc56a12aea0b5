"""The `initialize` fast path answers byte for byte what the dispatcher would, and declines
whatever it cannot prove valid (`app_server.startup`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from app_server.api.initialize import InitializeHandler
from app_server.notification import Notification, render_response
from app_server.rpc.fast_initialize import answer_initialize
from app_server.sandbox_notice import (
    NO_SANDBOX_DETAILS,
    NO_SANDBOX_SUMMARY,
    no_sandbox_warning_line,
)
from protocol.types import ConfigWarningNotification, InitializeParams

HOME = Path("/tmp/data dir/é")


def line(params: Any, request_id: Any = 1) -> bytes:
    return orjson.dumps({"id": request_id, "method": "initialize", "params": params})


async def dispatcher_answer(params: dict[str, Any], request_id: Any) -> bytes:
    model = InitializeParams.model_validate(params)
    result = await InitializeHandler(HOME)(None, model)  # type: ignore[arg-type]
    return render_response(request_id, result, experimental=False)


PLAIN = [
    {"clientInfo": {"name": "codex_vscode", "version": "0.1.0"}},
    {"clientInfo": {"name": "x", "title": "X", "version": "1"}, "capabilities": None},
    {"clientInfo": {"name": "x", "title": None, "version": "1"}, "capabilities": {}},
    {
        "clientInfo": {"name": "ünï", "version": "2"},
        "capabilities": {"experimentalApi": True, "optOutNotificationMethods": ["a"]},
    },
    {
        "clientInfo": {"name": "x", "version": "1"},
        "capabilities": {"optOutNotificationMethods": None},
    },
]


@pytest.mark.parametrize("params", PLAIN)
@pytest.mark.parametrize("request_id", [1, 0, -7, 2**63 - 1, "req-1", ""])
async def test_a_plain_initialize_is_answered_as_the_dispatcher_answers_it(
    params: dict[str, Any], request_id: Any
) -> None:
    answer = answer_initialize(line(params, request_id), HOME)
    assert answer is not None
    assert answer.response == await dispatcher_answer(params, request_id)
    assert answer.params == params


def test_opted_out_methods_are_reported() -> None:
    capabilities = {"optOutNotificationMethods": ["a"]}
    params = {"clientInfo": {"name": "x", "version": "1"}, "capabilities": capabilities}
    answer = answer_initialize(line(params), HOME)
    assert answer is not None
    assert answer.opt_out == frozenset({"a"})


DECLINED = [
    b"not json\n",
    b'{"id":1,"method":"thread/start","params":{}}',
    b'{"method":"initialize","params":{"clientInfo":{"name":"x","version":"1"}}}',
    line(None),
    line({}),
    line({"clientInfo": {"name": "x"}}),
    line({"clientInfo": {"name": 5, "version": "1"}}),
    line({"clientInfo": {"name": "x", "version": "1", "extra": 1}}),
    line({"client_info": {"name": "x", "version": "1"}}),
    line({"clientInfo": {"name": "x\n", "version": "1"}}),
    line({"clientInfo": {"name": "x", "version": "1"}, "capabilities": {"experimentalApi": 1}}),
    line(
        {"clientInfo": {"name": "x", "version": "1"}, "capabilities": {"requestAttestation": True}}
    ),
    line(
        {
            "clientInfo": {"name": "x", "version": "1"},
            "capabilities": {"optOutNotificationMethods": [1]},
        }
    ),
    line({"clientInfo": {"name": "x", "version": "1"}}, request_id=None),
    line({"clientInfo": {"name": "x", "version": "1"}}, request_id="a\u2028b"),
]


@pytest.mark.parametrize("raw", DECLINED)
def test_anything_not_provably_plain_is_left_to_the_dispatcher(raw: bytes) -> None:
    assert answer_initialize(raw, HOME) is None


def test_a_data_dir_with_control_characters_is_left_to_the_dispatcher() -> None:
    assert answer_initialize(line(PLAIN[0]), Path("/tmp/a\tb")) is None


@pytest.mark.parametrize("experimental", [False, True])
def test_the_no_sandbox_warning_is_the_notification_the_server_renders(
    experimental: bool,
) -> None:
    params = ConfigWarningNotification(summary=NO_SANDBOX_SUMMARY, details=NO_SANDBOX_DETAILS)
    rendered = Notification("configWarning", params, 1234).render(experimental=experimental)
    assert no_sandbox_warning_line(1234) == rendered
