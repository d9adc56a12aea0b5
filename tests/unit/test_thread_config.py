"""A thread's settings from the typed config, its `config` object, and request fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app_server.config import (
    THREAD_ORIGIN,
    TURN_ORIGIN,
    ConfigLayer,
    EffectiveConfig,
    user_origin,
)
from app_server.errors import INVALID_PARAMS, InvalidParams
from app_server.settings import default_settings
from app_server.settings_overrides import (
    MAX_REPORTED_CONFIG_PROBLEMS,
    SettingsOverrides,
    apply_overrides,
)
from protocol.types import ThreadStartParams, WorkspaceWriteSandboxPolicy

CWD = Path("/work")
FILE = Path("/data/config.toml")


def server_config(table: dict[str, Any]) -> EffectiveConfig:
    return EffectiveConfig.from_layers([ConfigLayer.from_table(user_origin(FILE), table)])


def start(table: dict[str, Any], **params: Any) -> Any:
    base = default_settings(server_config(table), CWD)
    overrides = SettingsOverrides.from_params(ThreadStartParams(**params))
    return apply_overrides(base, overrides, CWD)


def test_new_thread_settings_come_from_the_typed_config() -> None:
    table = {
        "model": "m",
        "sandbox_mode": "workspace-write",
        "sandbox_workspace_write": {"writable_roots": ["/extra"], "network_access": True},
    }
    settings = default_settings(server_config(table), CWD)
    assert settings.model == "m"
    assert settings.sandbox == WorkspaceWriteSandboxPolicy(
        writable_roots=["/extra"], network_access=True
    )


def test_a_bad_file_value_leaves_the_default_setting() -> None:
    settings = default_settings(server_config({"sandbox_mode": "everything"}), CWD)
    assert settings.sandbox.type == "readOnly"


def test_a_thread_config_object_is_a_layer_over_the_servers() -> None:
    settings = start({"model": "m", "agents": {"max_depth": 2}}, config={"agents.max_threads": 1})
    assert (settings.config.toml.agents.max_threads, settings.config.toml.agents.max_depth) == (
        1,
        2,
    )
    assert settings.origin("agents.max_threads") == THREAD_ORIGIN
    assert settings.origin("model") == user_origin(FILE)


def test_a_thread_config_object_decides_the_settings_it_names() -> None:
    settings = start(
        {}, config={"model": "t", "approval_policy": "never", "sandbox_mode": "danger-full-access"}
    )
    assert (settings.model, settings.approval_policy, settings.sandbox.type) == (
        "t",
        "never",
        "dangerFullAccess",
    )


def test_a_bad_thread_config_value_refuses_the_request_naming_it() -> None:
    with pytest.raises(InvalidParams) as raised:
        start({}, config={"max_sampling_steps": "many"})
    assert raised.value.code == INVALID_PARAMS
    assert raised.value.message == (
        "Invalid params: `config.max_sampling_steps`: expected a positive integer, got 'many'"
    )


def test_a_bad_nested_thread_config_value_is_named_by_its_dotted_key() -> None:
    with pytest.raises(InvalidParams, match=r"`config\.features\.multi_agent_v2`"):
        start({}, config={"features": {"multi_agent_v2": "yes"}})


def test_a_refusal_names_a_bounded_number_of_keys() -> None:
    config = {f"model_providers.p{i}.wire_api": "grpc" for i in range(50)}
    with pytest.raises(InvalidParams) as raised:
        start({}, config=config)
    assert raised.value.message.count("`config.") == MAX_REPORTED_CONFIG_PROBLEMS
    assert raised.value.message.endswith(f"and {50 - MAX_REPORTED_CONFIG_PROBLEMS} more problem(s)")


def test_unknown_thread_config_keys_are_kept_and_ignored() -> None:
    settings = start({}, config={"model_verbosity": "low"})
    assert settings.config.raw_value("model_verbosity") == "low"


def test_a_request_field_records_its_origin() -> None:
    settings = start({"model": "m"}, model="explicit")
    assert (settings.model, settings.origin("model")) == ("explicit", THREAD_ORIGIN)


def test_a_turn_field_records_its_origin_without_changing_equality() -> None:
    settings = start({}, model="m")
    again = settings.with_requested(TURN_ORIGIN, model="m")
    assert again == settings
    assert again.origin("model") == TURN_ORIGIN
    assert settings.with_requested(TURN_ORIGIN, reasoning_effort="high").origin(
        "model_reasoning_effort"
    ) == (TURN_ORIGIN)
