"""`account/read`, `account/rateLimits/read` and `account/bedrock/checkGovCloudRequirements`
against the real server process (issue 16); every answer is checked against the upstream schema
by the `servers` fixture."""

from __future__ import annotations

import dataclasses
import json

from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.turn_env import MODEL_ENV, run_turn, write_model_config

NO_OPENAI_KEY = {"OPENAI_API_KEY": ""}


async def started(servers: Servers, env: dict[str, str]) -> RpcClient:
    client = await servers.stdio(env=env)
    await client.initialize(experimental=True)
    return client


async def test_custom_provider_needs_no_openai_auth(
    servers: Servers, model_server: ModelServer
) -> None:
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    client = await started(servers, MODEL_ENV)
    result = await client.call("account/read", {})
    assert result["account"] is None
    assert result["requiresOpenaiAuth"] is False


async def test_openai_provider_without_a_key_requires_openai_auth(servers: Servers) -> None:
    client = await started(servers, NO_OPENAI_KEY)
    result = await client.call("account/read", {})
    assert result["account"] is None
    assert result["requiresOpenaiAuth"] is True


async def test_openai_key_in_the_environment_needs_no_login(servers: Servers) -> None:
    client = await started(servers, {"OPENAI_API_KEY": "sk-test"})
    result = await client.call("account/read", {})
    assert result == {
        "account": None,
        "requiresOpenaiAuth": False,
        "userId": None,
        "workspaceRouting": None,
    }


async def test_openai_key_in_auth_json_is_an_api_key_account(servers: Servers) -> None:
    auth = {"OPENAI_API_KEY": "sk-stored"}
    (servers.dirs.data_dir / "auth.json").write_text(json.dumps(auth))
    client = await started(servers, NO_OPENAI_KEY)
    result = await client.call("account/read", {})
    assert result["account"] == {"type": "apiKey"}
    assert result["requiresOpenaiAuth"] is False


async def test_rate_limits_are_empty_before_any_model_response(servers: Servers) -> None:
    client = await started(servers, MODEL_ENV)
    result = await client.call("account/rateLimits/read", None, omit_params=True)
    assert result["rateLimits"]["primary"] is None
    assert result["rateLimitsByLimitId"] is None


async def test_rate_limits_come_from_the_latest_response_headers(
    servers: Servers, model_server: ModelServer
) -> None:
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    headers = (
        ("x-codex-primary-used-percent", "42.5"),
        ("x-codex-primary-window-minutes", "300"),
        ("x-codex-primary-reset-at", "1704069000"),
        ("x-codex-secondary-used-percent", "7"),
        ("x-codex-credits-has-credits", "true"),
        ("x-codex-credits-unlimited", "false"),
    )
    model_server.enqueue(dataclasses.replace(Reply.text("hi"), headers=headers))
    client = await started(servers, MODEL_ENV)
    thread = (await client.call("thread/start", {}))["thread"]
    await run_turn(client, thread["id"], "hello")
    result = await client.call("account/rateLimits/read", None, omit_params=True)
    limits = result["rateLimits"]
    assert limits["limitId"] == "codex"
    assert limits["primary"] == {
        "usedPercent": 43,
        "windowDurationMins": 300,
        "resetsAt": 1704069000,
    }
    assert limits["secondary"]["usedPercent"] == 7
    assert limits["credits"] == {"hasCredits": True, "unlimited": False, "balance": None}
    assert result["rateLimitsByLimitId"] == {"codex": limits}


async def test_bedrock_is_never_gov_cloud(servers: Servers) -> None:
    client = await started(servers, MODEL_ENV)
    result = await client.call("account/bedrock/checkGovCloudRequirements", {})
    assert result == {"isGovCloud": False, "shouldWarn": False}
