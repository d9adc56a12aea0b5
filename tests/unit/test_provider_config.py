"""Provider config: Codex's `model_provider` / `[model_providers.<id>]` keys and credentials."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app_server.agent.providers.base import MissingCredentials, ProviderError
from app_server.agent.providers.provider_config import (
    DEFAULT_REQUEST_MAX_RETRIES,
    DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    DEFAULT_STREAM_MAX_RETRIES,
    ProviderConfig,
    resolve_api_key,
    resolve_headers,
    resolve_provider,
)

MOCK_TABLE: dict[str, Any] = {
    "name": "mock",
    "base_url": "http://127.0.0.1:18555/v1/",
    "wire_api": "responses",
    "env_key": "MOCK_API_KEY",
    "request_max_retries": 1,
    "stream_max_retries": 2,
    "stream_idle_timeout_ms": 1500,
    "http_headers": {"x-static": "yes"},
    "env_http_headers": {"x-from-env": "MOCK_HEADER", "x-unset": "MOCK_UNSET"},
    "query_params": {"api-version": "2025-01-01"},
}
CONFIG: dict[str, Any] = {
    "model": "gpt-test",
    "model_provider": "mock",
    "model_providers": {"mock": MOCK_TABLE},
}


def test_custom_provider_from_config_table(tmp_path: Path) -> None:
    config = resolve_provider(CONFIG, None, tmp_path, {"MOCK_API_KEY": "k"})
    assert config == ProviderConfig(
        id="mock",
        name="mock",
        base_url="http://127.0.0.1:18555/v1",
        wire_api="responses",
        model="gpt-test",
        env_key="MOCK_API_KEY",
        http_headers={"x-static": "yes"},
        env_http_headers={"x-from-env": "MOCK_HEADER", "x-unset": "MOCK_UNSET"},
        query_params={"api-version": "2025-01-01"},
        request_max_retries=1,
        stream_max_retries=2,
        stream_idle_timeout_ms=1500,
    )
    assert resolve_api_key(config, tmp_path, {"MOCK_API_KEY": " k \n"}) == "k"
    headers = resolve_headers(config, {"MOCK_HEADER": "from-env", "MOCK_UNSET": ""})
    assert headers == {"x-static": "yes", "x-from-env": "from-env"}


def test_defaults_for_a_minimal_table(tmp_path: Path) -> None:
    values = {"model_providers": {"local": {"base_url": "http://localhost:9/v1"}}}
    config = resolve_provider(values, "local", tmp_path, {})
    assert (config.name, config.wire_api, config.model, config.env_key) == (
        "local",
        "responses",
        None,
        None,
    )
    assert config.request_max_retries == DEFAULT_REQUEST_MAX_RETRIES == 4
    assert config.stream_max_retries == DEFAULT_STREAM_MAX_RETRIES == 5
    assert config.stream_idle_timeout_ms == DEFAULT_STREAM_IDLE_TIMEOUT_MS == 300_000
    assert not config.requires_key
    assert resolve_api_key(config, tmp_path, {}) is None


def test_explicit_id_wins_over_model_provider(tmp_path: Path) -> None:
    assert resolve_provider(CONFIG, "ollama", tmp_path, {}).id == "ollama"


def test_default_provider_is_openai(tmp_path: Path) -> None:
    config = resolve_provider({}, None, tmp_path, {"OPENAI_API_KEY": "sk-test"})
    assert (config.id, config.base_url, config.env_key) == (
        "openai",
        "https://api.openai.com/v1",
        "OPENAI_API_KEY",
    )
    headers = resolve_headers(config, {"OPENAI_ORGANIZATION": "org-1"})
    assert headers == {"OpenAI-Organization": "org-1"}


def test_openai_base_url_from_environment(tmp_path: Path) -> None:
    environ = {"OPENAI_API_KEY": "sk", "OPENAI_BASE_URL": "http://proxy.local/v1"}
    assert resolve_provider({}, "openai", tmp_path, environ).base_url == "http://proxy.local/v1"


@pytest.mark.parametrize(
    ("provider_id", "base_url"),
    [("ollama", "http://localhost:11434/v1"), ("lmstudio", "http://localhost:1234/v1")],
)
def test_local_builtins_need_no_key(tmp_path: Path, provider_id: str, base_url: str) -> None:
    config = resolve_provider({}, provider_id, tmp_path, {})
    assert (config.base_url, config.wire_api, config.env_key) == (base_url, "responses", None)
    assert resolve_api_key(config, tmp_path, {}) is None


def test_table_overrides_builtin_fields(tmp_path: Path) -> None:
    values = {"model_providers": {"ollama": {"base_url": "http://gpu-box:11434/v1"}}}
    config = resolve_provider(values, "ollama", tmp_path, {})
    assert (config.name, config.base_url) == ("gpt-oss", "http://gpu-box:11434/v1")


def test_openai_key_from_auth_json(tmp_path: Path) -> None:
    (tmp_path / "auth.json").write_text(json.dumps({"OPENAI_API_KEY": "sk-from-file"}))
    config = resolve_provider({}, "openai", tmp_path, {})
    assert resolve_api_key(config, tmp_path, {}) == "sk-from-file"
    assert resolve_api_key(config, tmp_path, {"OPENAI_API_KEY": "sk-env"}) == "sk-env"


def test_auth_json_is_only_for_openai(tmp_path: Path) -> None:
    (tmp_path / "auth.json").write_text(json.dumps({"OPENAI_API_KEY": "sk-from-file"}))
    with pytest.raises(MissingCredentials):
        resolve_provider(CONFIG, "mock", tmp_path, {})


def test_broken_auth_json_counts_as_no_key(tmp_path: Path) -> None:
    (tmp_path / "auth.json").write_text("{not json")
    with pytest.raises(MissingCredentials, match="OPENAI_API_KEY"):
        resolve_provider({}, "openai", tmp_path, {})


def test_bearer_token_literal_wins(tmp_path: Path) -> None:
    table = {**MOCK_TABLE, "experimental_bearer_token": "literal"}
    values = {"model_providers": {"mock": table}}
    config = resolve_provider(values, "mock", tmp_path, {})
    assert config.requires_key
    assert resolve_api_key(config, tmp_path, {"MOCK_API_KEY": "env"}) == "literal"


def test_missing_openai_key_message(tmp_path: Path) -> None:
    with pytest.raises(MissingCredentials) as caught:
        resolve_provider({}, "openai", tmp_path, {"OPENAI_API_KEY": "  "})
    assert str(caught.value) == (
        'No API key for model provider "openai": set the OPENAI_API_KEY environment variable '
        "(or model_providers.openai.env_key / experimental_bearer_token in config.toml)."
    )
    assert caught.value.codex_error_info == "unauthorized"
    assert caught.value.retry == "none"


def test_missing_custom_key_message_names_variable_and_config_key(tmp_path: Path) -> None:
    table = {**MOCK_TABLE, "env_key_instructions": "Get one at https://example.test/keys."}
    with pytest.raises(MissingCredentials) as caught:
        resolve_provider({"model_providers": {"mock": table}}, "mock", tmp_path, {})
    message = str(caught.value)
    assert "set the MOCK_API_KEY environment variable" in message
    assert "model_providers.mock.env_key" in message
    assert message.endswith("Get one at https://example.test/keys.")


def test_unknown_provider_lists_known_ids(tmp_path: Path) -> None:
    with pytest.raises(ProviderError) as caught:
        resolve_provider(CONFIG, "nope", tmp_path, {})
    assert not isinstance(caught.value, MissingCredentials)
    message = str(caught.value)
    assert 'Model provider "nope" not found' in message
    assert "lmstudio, mock, ollama, openai" in message
    assert "[model_providers.nope]" in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("wire_api", "grpc", "wire_api must be"),
        ("request_max_retries", -1, "request_max_retries must be a non-negative integer"),
        ("stream_max_retries", "5", "stream_max_retries must be a non-negative integer"),
        ("stream_idle_timeout_ms", 0, "stream_idle_timeout_ms must be a positive integer"),
        ("http_headers", {"a": 1}, "http_headers must be a table of strings"),
        ("base_url", 5, "base_url must be a string"),
        ("base_url", "", "base_url is required"),
    ],
)
def test_malformed_table_is_a_clear_error(
    tmp_path: Path, key: str, value: Any, expected: str
) -> None:
    values = {"model_providers": {"mock": {**MOCK_TABLE, key: value}}}
    with pytest.raises(ProviderError, match=expected):
        resolve_provider(values, "mock", tmp_path, {"MOCK_API_KEY": "k"})


def test_chat_wire_api_and_retry_cap(tmp_path: Path) -> None:
    table = {"base_url": "http://h/v1", "wire_api": "chat", "request_max_retries": 1000}
    config = resolve_provider({"model_providers": {"c": table}}, "c", tmp_path, {})
    assert config.wire_api == "chat"
    assert config.request_max_retries == 100
