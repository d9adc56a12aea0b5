"""A bad config value never stops the server: it is reported as a `configWarning` naming the key
and the value, and its default is used (README, "Models and providers")."""

from __future__ import annotations

import tomllib
from typing import Any

from app_server.config import key_paths
from app_server.config.keys import PROVIDER_ID_PLACEHOLDER
from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.sandbox_env import not_sandbox_warning
from tests.support.turn_env import MODEL_ENV, run_turn, write_model_config

PROVIDER = "p"
WRONG_TYPES = {
    "model": "5",
    "model_provider": "5",
    "models": '"gpt-5"',
    "model_reasoning_effort": "5",
    "model_reasoning_summary": '"loud"',
    "model_context_window": '"big"',
    "model_auto_compact_token_limit": '"soon"',
    "model_supports_reasoning_summaries": '"yes"',
    "max_sampling_steps": '"many"',
    "approval_policy": '"sometimes"',
    "sandbox_mode": "5",
    "shell_tool_type": '"zsh"',
    "apply_patch_tool_type": "5",
    "approval_timeout_seconds": '"long"',
    "idle_thread_unload_seconds": "-1",
    "bwrap_path": "5",
    "developer_instructions": "5",
    "base_instructions": '["x"]',
    "store_url": "5",
    f"model_providers.{PROVIDER}.name": "5",
    f"model_providers.{PROVIDER}.base_url": "5",
    f"model_providers.{PROVIDER}.wire_api": '"grpc"',
    f"model_providers.{PROVIDER}.env_key": "5",
    f"model_providers.{PROVIDER}.env_key_instructions": "5",
    f"model_providers.{PROVIDER}.experimental_bearer_token": "5",
    f"model_providers.{PROVIDER}.http_headers": '"x"',
    f"model_providers.{PROVIDER}.env_http_headers": "{ a = 1 }",
    f"model_providers.{PROVIDER}.query_params": "5",
    f"model_providers.{PROVIDER}.request_max_retries": "-1",
    f"model_providers.{PROVIDER}.stream_max_retries": '"5"',
    f"model_providers.{PROVIDER}.stream_idle_timeout_ms": "0",
    "sandbox_workspace_write.writable_roots": '"/tmp"',
    "sandbox_workspace_write.network_access": '"yes"',
    "sandbox_workspace_write.exclude_tmpdir_env_var": "1",
    "sandbox_workspace_write.exclude_slash_tmp": '"no"',
    "features.multi_agent": '"on"',
    "features.multi_agent_v2": "1",
    "features.local_thread_store_compression": '"off"',
    "agents.max_threads": '"3"',
    "agents.max_depth": "-1",
    "agents.min_wait_timeout_ms": "1.5",
    "rollout_compression.enabled": '"yes"',
    "rollout_compression.min_age_days": '"soon"',
    "skills.config": '"demo"',
    f"mcp_servers.{PROVIDER}.command": "5",
    f"mcp_servers.{PROVIDER}.args": '"x"',
    f"mcp_servers.{PROVIDER}.env": "5",
    f"mcp_servers.{PROVIDER}.env_vars": '"x"',
    f"mcp_servers.{PROVIDER}.cwd": "5",
    f"mcp_servers.{PROVIDER}.url": '""',
    f"mcp_servers.{PROVIDER}.bearer_token_env_var": "5",
    f"mcp_servers.{PROVIDER}.http_headers": '"x"',
    f"mcp_servers.{PROVIDER}.env_http_headers": "{ a = 1 }",
    f"mcp_servers.{PROVIDER}.enabled": '"yes"',
    f"mcp_servers.{PROVIDER}.required": "1",
    f"mcp_servers.{PROVIDER}.startup_timeout_sec": '"soon"',
    f"mcp_servers.{PROVIDER}.tool_timeout_sec": "-1",
    f"mcp_servers.{PROVIDER}.enabled_tools": "5",
    f"mcp_servers.{PROVIDER}.disabled_tools": '"x"',
}
"""A value of the wrong type (TOML text) for every key the server reads."""

PINNED_BY_TEST_SERVERS = ("rollout_compression.min_age_days",)
"""Keys test servers set with `-c` (`server_process.TEST_COMPRESSION_MIN_AGE_DAYS`), which would
hide a bad value in the file: the test passes these with `-c` too (a later `-c` wins)."""


def config_warnings(client: RpcClient) -> list[dict[str, Any]]:
    return [m for m in client.notifications_named("configWarning") if not_sandbox_warning(m)]


async def all_warnings(client: RpcClient, count: int) -> list[dict[str, Any]]:
    """The config warnings after `initialize`, once `count` arrived and a later request was
    answered (so none is still on its way)."""
    await client.wait_for(lambda: len(config_warnings(client)) >= count)
    await client.call("model/list", {})
    return config_warnings(client)


def test_the_wrong_types_cover_every_key_the_server_reads() -> None:
    keys = {key.replace(PROVIDER_ID_PLACEHOLDER, PROVIDER) for key in key_paths()}
    assert set(WRONG_TYPES) == keys


async def test_a_wrong_type_for_every_key_is_one_warning_each_and_the_server_runs(
    servers: Servers,
) -> None:
    config_file = servers.dirs.data_dir / "config.toml"
    in_file = {k: v for k, v in WRONG_TYPES.items() if k not in PINNED_BY_TEST_SERVERS}
    config_file.write_text("".join(f"{key} = {text}\n" for key, text in in_file.items()))
    flags = [f"{key}={WRONG_TYPES[key]}" for key in PINNED_BY_TEST_SERVERS]
    client = await servers.stdio(*(arg for flag in flags for arg in ("-c", flag)))
    await client.initialize()

    warnings = await all_warnings(client, len(WRONG_TYPES))
    assert len(warnings) == len(WRONG_TYPES)
    by_key = {w["params"]["summary"].split("`")[1]: w["params"] for w in warnings}
    assert set(by_key) == set(WRONG_TYPES)
    for key, text in WRONG_TYPES.items():
        value = tomllib.loads(f"v = {text}")["v"]
        assert by_key[key]["summary"].startswith(f"Invalid `{key}` in config; ")
        assert by_key[key]["details"].endswith(f", got {value!r}")
        assert by_key[key].get("path") == (
            None if key in PINNED_BY_TEST_SERVERS else str(config_file)
        )
    thread = await client.call("thread/start", {})
    assert thread["model"] == "gpt-5.1-codex"


async def test_a_word_for_max_sampling_steps_no_longer_stops_the_server(
    servers: Servers, model_server: ModelServer
) -> None:
    write_model_config(
        servers.dirs.data_dir, model_server.base_url, extra='max_sampling_steps = "many"'
    )
    client = await servers.stdio(env=MODEL_ENV)
    await client.initialize()
    [warning] = await all_warnings(client, 1)
    assert warning["params"]["summary"] == "Invalid `max_sampling_steps` in config; using 200"
    assert warning["params"]["details"] == "expected a positive integer, got 'many'"

    model_server.enqueue(Reply.text("still here"))
    thread_id = (await client.call("thread/start", {}))["thread"]["id"]
    turn = await run_turn(client, thread_id, "hello")
    assert turn["status"] == "completed"


async def test_a_bad_override_flag_is_a_warning_without_a_file(servers: Servers) -> None:
    client = await servers.stdio("-c", "agents.max_threads=lots")
    await client.initialize()
    [warning] = await all_warnings(client, 1)
    assert warning["params"]["summary"] == "Invalid `agents.max_threads` in config; using 3"
    assert warning["params"]["details"] == "expected a non-negative integer, got 'lots'"
    assert warning["params"].get("path") is None


async def test_a_bad_thread_config_value_refuses_the_request_and_nothing_else(
    servers: Servers,
) -> None:
    client = await servers.stdio()
    await client.initialize()
    reply = await client.request("thread/start", {"config": {"agents.max_depth": "deep"}})
    assert reply.code == -32602
    assert reply.message == (
        "Invalid params: `config.agents.max_depth`: expected a non-negative integer, got 'deep'"
    )
    assert client.notifications_named("thread/started") == []
    started = await client.call("thread/start", {"config": {"agents.max_depth": 2}})
    assert started["thread"]["id"]
