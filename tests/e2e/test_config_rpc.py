"""`config/read`, `config/value/write`, `config/batchWrite`, `configRequirements/read` against the
real server process (issue 16): codex's shapes (every answer is checked against the upstream
schema by the `servers` fixture), comments kept, invalid values refused with the file untouched,
version conflicts, and written values used by the next thread."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.model_server import ModelServer
from tests.support.turn_env import MODEL, MODEL_ENV, PROVIDER, write_model_config

COMMENTED = """# my settings, keep this comment
model = "gpt-test"  # the model I like

# sandbox choice
sandbox_mode = "read-only"

[features]
# sub-agents
multi_agent = true
"""


def config_file(servers: Servers) -> Path:
    return servers.dirs.data_dir / "config.toml"


async def started(servers: Servers, *args: str) -> RpcClient:
    client = await servers.stdio(*args, env=MODEL_ENV)
    await client.initialize(experimental=True)
    return client


def codex_version(path: Path) -> str:
    """Codex's layer version: sha256 of the table as compact, key-sorted JSON."""
    table = tomllib.loads(path.read_text())
    text = json.dumps(table, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def edit(key: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"keyPath": key, "value": value, "mergeStrategy": "replace", **extra}


async def write(client: RpcClient, key: str, value: Any, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = await client.call("config/value/write", edit(key, value, **extra))
    return result


async def refused(client: RpcClient, key: str, value: Any, **extra: Any) -> dict[str, Any]:
    """The error a write that must fail gets."""
    reply = await client.request("config/value/write", edit(key, value, **extra))
    assert reply.error is not None, f"write of {key} succeeded: {reply.result}"
    return reply.error


async def test_config_read_reports_file_values_with_user_origins(
    servers: Servers, model_server: ModelServer
) -> None:
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    client = await started(servers)
    result = await client.call("config/read", {})
    assert result["config"]["model"] == MODEL
    assert result["config"]["model_provider"] == PROVIDER
    assert result["config"]["approval_policy"] is None  # unset: null, as codex
    origin = result["origins"]["model"]
    assert origin["name"] == {"type": "user", "file": str(config_file(servers)), "profile": None}
    assert origin["version"] == codex_version(config_file(servers))
    assert f"model_providers.{PROVIDER}.base_url" in result["origins"]
    assert result["layers"] is None


async def test_config_read_attributes_c_flags_to_session_flags(servers: Servers) -> None:
    config_file(servers).write_text('model = "from-file"\n')
    client = await started(servers, "-c", 'model="from-flag"')
    result = await client.call("config/read", {"includeLayers": True})
    assert result["config"]["model"] == "from-flag"
    assert result["origins"]["model"]["name"] == {"type": "sessionFlags"}
    kinds = [layer["name"]["type"] for layer in result["layers"]]
    assert kinds == ["sessionFlags", "user"]  # highest first
    assert result["layers"][1]["config"] == {"model": "from-file"}


async def test_config_requirements_read_answers_none_configured(servers: Servers) -> None:
    client = await started(servers)
    result = await client.call("configRequirements/read")
    assert result == {"requirements": None, "supportsIndependentSpeedModes": True}


async def test_value_write_keeps_comments_and_layout(servers: Servers) -> None:
    config_file(servers).write_text(COMMENTED)
    client = await started(servers)
    await write(client, "sandbox_mode", "workspace-write")
    expected = COMMENTED.replace('sandbox_mode = "read-only"', 'sandbox_mode = "workspace-write"')
    assert config_file(servers).read_text() == expected


async def test_value_write_answers_codex_shape_and_new_version(servers: Servers) -> None:
    config_file(servers).write_text(COMMENTED)
    client = await started(servers)
    result = await write(client, "model_reasoning_effort", "high")
    assert result == {
        "status": "ok",
        "version": codex_version(config_file(servers)),
        "filePath": str(config_file(servers)),
        "overriddenMetadata": None,
    }
    assert tomllib.loads(config_file(servers).read_text())["model_reasoning_effort"] == "high"


async def test_invalid_value_is_refused_and_file_stays_byte_identical(servers: Servers) -> None:
    config_file(servers).write_text(COMMENTED)
    before = config_file(servers).read_bytes()
    client = await started(servers)
    error = await refused(client, "sandbox_mode", "bogus")
    assert error["code"] == -32600
    assert error["data"] == {"config_write_error_code": "configValidationError"}
    assert "sandbox_mode" in error["message"]
    assert "bogus" in error["message"]
    assert config_file(servers).read_bytes() == before


async def test_batch_with_one_invalid_edit_writes_nothing(servers: Servers) -> None:
    config_file(servers).write_text(COMMENTED)
    before = config_file(servers).read_bytes()
    client = await started(servers)
    edits = [
        {"keyPath": "model", "value": "other", "mergeStrategy": "replace"},
        {"keyPath": "max_sampling_steps", "value": "many", "mergeStrategy": "replace"},
    ]
    reply = await client.request("config/batchWrite", {"edits": edits})
    assert reply.error is not None
    assert config_file(servers).read_bytes() == before


async def test_batch_write_applies_every_edit(servers: Servers) -> None:
    config_file(servers).write_text(COMMENTED)
    client = await started(servers)
    edits = [
        {"keyPath": "model", "value": "other", "mergeStrategy": "replace"},
        {"keyPath": "features", "value": {"multi_agent_v2": True}, "mergeStrategy": "upsert"},
        {"keyPath": "sandbox_mode", "value": None, "mergeStrategy": "replace"},
    ]
    await client.call("config/batchWrite", {"edits": edits})
    table = tomllib.loads(config_file(servers).read_text())
    assert table["model"] == "other"
    assert table["features"] == {"multi_agent": True, "multi_agent_v2": True}
    assert "sandbox_mode" not in table
    assert "# sub-agents" in config_file(servers).read_text()


async def test_stale_expected_version_is_a_conflict(servers: Servers) -> None:
    config_file(servers).write_text(COMMENTED)
    client = await started(servers)
    version = (await client.call("config/read", {}))["origins"]["model"]["version"]
    await write(client, "model", "first", expectedVersion=version)
    before = config_file(servers).read_bytes()
    error = await refused(client, "model", "second", expectedVersion=version)
    assert error["data"] == {"config_write_error_code": "configVersionConflict"}
    assert config_file(servers).read_bytes() == before


async def test_write_to_another_file_is_refused(servers: Servers, tmp_path: Path) -> None:
    client = await started(servers)
    error = await refused(client, "model", "x", filePath=str(tmp_path / "other.toml"))
    assert error["data"] == {"config_write_error_code": "configLayerReadonly"}
    assert not (tmp_path / "other.toml").exists()


async def test_empty_key_path_is_refused(servers: Servers) -> None:
    client = await started(servers)
    error = await refused(client, "", "x")
    assert error["message"] == "keyPath must not be empty"


async def test_written_model_applies_to_the_next_thread(
    servers: Servers, model_server: ModelServer
) -> None:
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    client = await started(servers)
    before = await client.call("thread/start", {})
    await write(client, "model", "gpt-written")
    after = await client.call("thread/start", {})
    assert before["model"] == MODEL
    assert after["model"] == "gpt-written"
    read = await client.call("config/read", {})
    assert read["config"]["model"] == "gpt-written"


async def test_write_overridden_by_a_c_flag_says_so(servers: Servers) -> None:
    client = await started(servers, "-c", 'model="from-flag"')
    result = await write(client, "model", "from-write")
    assert result["status"] == "okOverridden"
    overridden = result["overriddenMetadata"]
    assert overridden["overridingLayer"]["name"] == {"type": "sessionFlags"}
    assert overridden["effectiveValue"] == "from-flag"
