"""The typed config model and its lenient validation: a bad value drops only itself."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from app_server.config import KNOWN_TOP_LEVEL_KEYS, ConfigToml, key_paths, validate_config
from app_server.config.keys import PROVIDER_ID_PLACEHOLDER, ModelEntryToml
from app_server.config.problems import MAX_VALUE_REPR_CHARS

WRONG_FOR_EVERY_KEY = datetime.datetime(1979, 5, 27, 7, 32, tzinfo=datetime.UTC)
"""A TOML datetime: no key of ours takes one."""


def nested(dotted: str, value: Any) -> dict[str, Any]:
    table: dict[str, Any] = {}
    node = table
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return table


def test_an_empty_table_is_every_default_without_problems() -> None:
    validated = validate_config({})
    assert (validated.toml, validated.invalid, validated.unknown) == (ConfigToml(), (), ())


def test_a_bad_value_is_dropped_and_its_default_used() -> None:
    validated = validate_config({"max_sampling_steps": "many"})
    assert validated.toml.max_sampling_steps == 200
    [bad] = validated.invalid
    assert (bad.key, bad.value) == ("max_sampling_steps", "many")


def test_a_bad_value_is_described_in_one_shape() -> None:
    [bad] = validate_config({"max_sampling_steps": "many"}).invalid
    problem = bad.problem(None)
    assert problem.summary == "Invalid `max_sampling_steps` in config; using 200"
    assert problem.details == "expected a positive integer, got 'many'"
    assert problem.key == "max_sampling_steps"


def test_an_optional_key_with_a_bad_value_is_ignored() -> None:
    [bad] = validate_config({"model_context_window": -5}).invalid
    assert bad.problem(None).summary == "Invalid `model_context_window` in config; ignored"


def test_a_bad_value_in_a_table_keeps_the_rest_of_the_table() -> None:
    validated = validate_config({"agents": {"max_threads": "lots", "max_depth": 3}})
    assert (validated.toml.agents.max_threads, validated.toml.agents.max_depth) == (3, 3)
    assert [bad.key for bad in validated.invalid] == ["agents.max_threads"]


def test_a_table_that_is_not_a_table_gets_its_defaults() -> None:
    validated = validate_config({"agents": 4})
    assert validated.toml.agents == ConfigToml().agents
    assert validated.invalid[0].problem(None).summary == (
        "Invalid `agents` in config; using the defaults"
    )


@pytest.mark.parametrize("value", ["10", True, 2.5])
def test_an_integer_key_takes_only_integers(value: Any) -> None:
    validated = validate_config({"agents": {"max_threads": value}})
    assert validated.toml.agents.max_threads == 3
    assert len(validated.invalid) == 1


def test_a_number_key_takes_integers_too() -> None:
    assert validate_config({"approval_timeout_seconds": 5}).toml.approval_timeout_seconds == 5.0


def test_a_bad_provider_value_drops_only_that_value() -> None:
    table = {"model_providers": {"p": {"name": "P", "wire_api": "grpc"}}}
    validated = validate_config(table)
    provider = validated.toml.model_providers["p"]
    assert (provider.name, provider.wire_api) == ("P", None)
    assert [bad.key for bad in validated.invalid] == ["model_providers.p.wire_api"]


def test_a_provider_that_is_not_a_table_is_dropped() -> None:
    validated = validate_config({"model_providers": {"p": {"name": "P"}, "q": 5}})
    assert list(validated.toml.model_providers) == ["p"]
    assert [bad.key for bad in validated.invalid] == ["model_providers.q"]


def test_a_bad_list_element_is_dropped_alone() -> None:
    validated = validate_config({"models": ["a", 5, "b"]})
    assert validated.toml.models == ["a", "b"]
    assert [bad.key for bad in validated.invalid] == ["models[1]"]


def test_a_bad_value_inside_a_list_element_drops_only_that_value() -> None:
    validated = validate_config({"models": [{"id": "m", "hidden": "yes"}]})
    assert validated.toml.models == [ModelEntryToml(id="m")]
    assert [bad.key for bad in validated.invalid] == ["models[0].hidden"]


def test_the_legacy_on_failure_policy_is_read_as_on_request() -> None:
    validated = validate_config({"approval_policy": "on-failure"})
    assert (validated.toml.approval_policy, validated.invalid) == ("on-request", ())


def test_a_granular_approval_policy_is_a_table() -> None:
    policy = {"granular": {"mcp_elicitations": True, "rules": True, "sandbox_approval": False}}
    validated = validate_config({"approval_policy": policy})
    assert validated.invalid == ()
    assert not isinstance(validated.toml.approval_policy, str)


def test_unknown_keys_at_any_depth_are_listed_not_invalid() -> None:
    table = {"mystery": 1, "features": {"shiny": True}, "model_providers": {"p": {"zz": 1}}}
    validated = validate_config(table)
    assert validated.invalid == ()
    assert set(validated.unknown) == {"mystery", "features.shiny", "model_providers.p.zz"}


def test_a_huge_bad_value_is_quoted_shortened() -> None:
    [bad] = validate_config({"model": ["x" * 10_000]}).invalid
    assert len(bad.details) < MAX_VALUE_REPR_CHARS + 100
    assert bad.details.endswith("…")


@pytest.mark.parametrize("key", list(key_paths()))
def test_a_wrong_type_under_any_key_is_one_problem_naming_that_key(key: str) -> None:
    key = key.replace(PROVIDER_ID_PLACEHOLDER, "p")
    validated = validate_config(nested(key, WRONG_FOR_EVERY_KEY))
    [bad] = validated.invalid
    assert bad.key == key
    assert bad.expected != "a valid value"  # every value type says what it expects
    assert "datetime" in bad.details


def test_known_top_level_keys_come_from_the_model() -> None:
    assert frozenset(ConfigToml.model_fields) == KNOWN_TOP_LEVEL_KEYS
    read_but_once_missing = {
        "max_sampling_steps",
        "approval_timeout_seconds",
        "idle_thread_unload_seconds",
        "bwrap_path",
        "models",
        "shell_tool_type",
        "apply_patch_tool_type",
        "model_supports_reasoning_summaries",
    }
    assert read_but_once_missing <= KNOWN_TOP_LEVEL_KEYS
