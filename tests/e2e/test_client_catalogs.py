"""The catalogs Codex's own clients read at startup (issue 16): `hooks/list`,
`collaborationMode/list`, `permissionProfile/list`, `experimentalFeature/list`,
`modelProvider/list`, `modelProvider/capabilities/read`; answers checked against the upstream
schema by the `servers` fixture and against what codex 0.169 answers in the same situation."""

from __future__ import annotations

from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.model_server import ModelServer
from tests.support.turn_env import API_KEY_ENV, MODEL_ENV, PROVIDER, write_model_config


async def started(servers: Servers, *args: str) -> RpcClient:
    client = await servers.stdio(*args, env=MODEL_ENV)
    await client.initialize(experimental=True)
    return client


async def test_hooks_list_has_an_empty_entry_per_cwd(servers: Servers) -> None:
    client = await started(servers)
    result = await client.call("hooks/list", {"cwds": ["/tmp", "/"]})
    assert result == {
        "data": [
            {"cwd": "/tmp", "hooks": [], "warnings": [], "errors": []},
            {"cwd": "/", "hooks": [], "warnings": [], "errors": []},
        ]
    }


async def test_hooks_list_without_cwds_uses_the_server_cwd(servers: Servers) -> None:
    client = await started(servers)
    result = await client.call("hooks/list", {})
    assert len(result["data"]) == 1
    assert result["data"][0]["cwd"].startswith("/")


async def test_collaboration_modes_are_codex_presets(servers: Servers) -> None:
    client = await started(servers)
    result = await client.call("collaborationMode/list", {})
    assert result == {
        "data": [
            {"name": "Plan", "mode": "plan", "model": None, "reasoning_effort": "medium"},
            {"name": "Default", "mode": "default", "model": None, "reasoning_effort": None},
        ]
    }


async def test_collaboration_modes_need_the_experimental_api(servers: Servers) -> None:
    client = await servers.stdio(env=MODEL_ENV)
    await client.initialize()
    reply = await client.request("collaborationMode/list", {})
    assert reply.code == -32600


async def test_permission_profiles_are_the_three_builtins(servers: Servers) -> None:
    client = await started(servers)
    result = await client.call("permissionProfile/list", {})
    assert [p["id"] for p in result["data"]] == [":read-only", ":workspace", ":danger-full-access"]
    assert all(p["allowed"] and p["description"] is None for p in result["data"])
    assert result["nextCursor"] is None


async def test_permission_profiles_page_with_a_cursor(servers: Servers) -> None:
    client = await started(servers)
    first = await client.call("permissionProfile/list", {"limit": 2})
    rest = await client.call("permissionProfile/list", {"cursor": first["nextCursor"]})
    assert [p["id"] for p in first["data"] + rest["data"]] == [
        ":read-only",
        ":workspace",
        ":danger-full-access",
    ]
    assert rest["nextCursor"] is None


async def test_experimental_features_follow_the_config(servers: Servers) -> None:
    client = await started(servers, "-c", "features.multi_agent_v2=true")
    result = await client.call("experimentalFeature/list", {})
    features = {f["name"]: f for f in result["data"]}
    assert features["multi_agent_v2"]["enabled"] is True
    assert features["multi_agent_v2"]["defaultEnabled"] is False
    assert features["multi_agent_v2"]["stage"] == "stable"
    assert features["multi_agent"]["enabled"] is True


async def test_model_providers_list_the_configured_table_then_openai(
    servers: Servers, model_server: ModelServer
) -> None:
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    client = await started(servers)
    result = await client.call("modelProvider/list", {})
    assert result["defaultProviderId"] == PROVIDER
    assert result["canChangeDefault"] is True
    assert result["data"] == [
        {
            "id": PROVIDER,
            "name": PROVIDER,
            "canEdit": True,
            "baseUrl": model_server.base_url,
            "settings": {
                "type": "customGateway",
                "auth": {"mode": "environmentVariable", "envKey": API_KEY_ENV},
            },
        },
        {
            "id": "openai",
            "name": "OpenAI",
            "canEdit": False,
            "baseUrl": None,
            "settings": {"type": "openai"},
        },
    ]


async def test_provider_capabilities_are_what_this_server_offers(servers: Servers) -> None:
    client = await started(servers)
    result = await client.call("modelProvider/capabilities/read", {})
    assert result == {"imageGeneration": False, "webSearch": False}
