"""Which model provider a turn talks to, read from Codex's config keys.

`config.toml` names the provider with top-level `model_provider` and describes it in a
`[model_providers.<id>]` table (`base_url`, `wire_api`, `env_key`, headers, retry budgets…), the
same keys Codex reads, so one config file serves both programs. Three providers are built in
(`openai`, `ollama`, `lmstudio`); a table with a built-in id overrides the built-in's fields.

Credentials are resolved here too, so a missing key fails with one message that says exactly what
to set, before any HTTP request is made.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app_server.agent.providers.base import MissingCredentials, ProviderError, WireApi

log = logging.getLogger(__name__)

DEFAULT_PROVIDER_ID = "openai"
DEFAULT_WIRE_API: WireApi = "responses"
DEFAULT_REQUEST_MAX_RETRIES = 4
DEFAULT_STREAM_MAX_RETRIES = 5
DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000
MAX_RETRIES_CAP = 100
"""Codex caps both retry budgets at 100; a larger value is clamped, not rejected."""

OPENAI_BASE_URL = "https://api.openai.com/v1"
OPENAI_BASE_URL_ENV = "OPENAI_BASE_URL"
"""Codex lets this environment variable move the built-in `openai` provider (proxies, gateways)."""
OPENAI_API_KEY_ENV = "OPENAI_API_KEY"
AUTH_FILE_NAME = "auth.json"
"""`<data dir>/auth.json` as written by `codex login --with-api-key`: `{"OPENAI_API_KEY": …}`."""
OLLAMA_BASE_URL = "http://localhost:11434/v1"
LMSTUDIO_BASE_URL = "http://localhost:1234/v1"

BUILTIN_PROVIDERS: Mapping[str, Mapping[str, Any]] = {
    "openai": {
        "name": "OpenAI",
        "base_url": OPENAI_BASE_URL,
        "env_key": OPENAI_API_KEY_ENV,
        "env_http_headers": {
            "OpenAI-Organization": "OPENAI_ORGANIZATION",
            "OpenAI-Project": "OPENAI_PROJECT",
        },
    },
    "ollama": {"name": "gpt-oss", "base_url": OLLAMA_BASE_URL},
    "lmstudio": {"name": "gpt-oss", "base_url": LMSTUDIO_BASE_URL},
}
"""The providers Codex knows without a `[model_providers.<id>]` table."""

_WIRE_APIS: tuple[WireApi, ...] = ("responses", "chat")


@dataclass(frozen=True)
class ProviderConfig:
    """One resolved `[model_providers.<id>]` table (plus the top-level `model`).

    Holds no secret: the API key is looked up with `resolve_api_key` when a provider is built, so
    a config object can be logged or compared freely.
    """

    id: str
    name: str
    base_url: str
    wire_api: WireApi = DEFAULT_WIRE_API
    model: str | None = None
    """Top-level `model`, if configured (the turn may override it)."""
    env_key: str | None = None
    """Environment variable holding the API key; None means the provider needs no key."""
    env_key_instructions: str | None = None
    experimental_bearer_token: str | None = None
    http_headers: Mapping[str, str] = field(default_factory=dict)
    env_http_headers: Mapping[str, str] = field(default_factory=dict)
    """Header name → environment variable; the header is sent only when the variable is set."""
    query_params: Mapping[str, str] = field(default_factory=dict)
    request_max_retries: int = DEFAULT_REQUEST_MAX_RETRIES
    stream_max_retries: int = DEFAULT_STREAM_MAX_RETRIES
    stream_idle_timeout_ms: int = DEFAULT_STREAM_IDLE_TIMEOUT_MS

    @property
    def requires_key(self) -> bool:
        """Whether requests need an API key (an `env_key` or a literal token is configured)."""
        return bool(self.env_key or self.experimental_bearer_token)


def known_provider_ids(config_values: Mapping[str, Any]) -> list[str]:
    """Built-in ids plus every `[model_providers.<id>]` table, sorted."""
    configured = config_values.get("model_providers")
    ids = set(BUILTIN_PROVIDERS)
    if isinstance(configured, Mapping):
        ids.update(str(key) for key in configured)
    return sorted(ids)


def resolve_provider(
    config_values: Mapping[str, Any],
    provider_id: str | None,
    data_dir: Path,
    environ: Mapping[str, str],
) -> ProviderConfig:
    """The provider `provider_id` (None → `model_provider`, else `openai`), credentials checked.

    Raises `ProviderError` when the id is unknown or its table is malformed, and
    `MissingCredentials` when it needs a key that is not configured anywhere.
    """
    if provider_id is None:
        configured_id = config_values.get("model_provider")
        provider_id = configured_id if isinstance(configured_id, str) else DEFAULT_PROVIDER_ID
    config = provider_from_tables(config_values, provider_id, environ)
    resolve_api_key(config, data_dir, environ)
    return config


def provider_from_tables(
    config_values: Mapping[str, Any], provider_id: str, environ: Mapping[str, str]
) -> ProviderConfig:
    """Merge the built-in defaults (if any) with `[model_providers.<id>]`; no credential check."""
    tables = config_values.get("model_providers")
    table = tables.get(provider_id) if isinstance(tables, Mapping) else None
    builtin = BUILTIN_PROVIDERS.get(provider_id)
    if table is None and builtin is None:
        known = ", ".join(known_provider_ids(config_values))
        raise ProviderError(
            f'Model provider "{provider_id}" not found: add a [model_providers.{provider_id}] '
            f"table to config.toml or use one of the known providers: {known}.",
            codex_error_info="other",
        )
    if table is not None and not isinstance(table, Mapping):
        raise _invalid(provider_id, "", "a table", table)
    merged: dict[str, Any] = dict(builtin or {})
    merged.update(table or {})
    if provider_id == "openai" and "base_url" not in (table or {}):
        merged["base_url"] = environ.get(OPENAI_BASE_URL_ENV) or OPENAI_BASE_URL

    model = config_values.get("model")
    base_url = _string(provider_id, merged, "base_url")
    if not base_url:
        raise ProviderError(
            f"model_providers.{provider_id}.base_url is required (e.g. http://127.0.0.1:8080/v1).",
            codex_error_info="other",
        )
    wire_api = merged.get("wire_api", DEFAULT_WIRE_API)
    if wire_api not in _WIRE_APIS:
        raise _invalid(provider_id, "wire_api", '"responses" or "chat"', wire_api)
    return ProviderConfig(
        id=provider_id,
        name=_string(provider_id, merged, "name") or provider_id,
        base_url=base_url.rstrip("/"),
        wire_api=wire_api,
        model=model if isinstance(model, str) and model else None,
        env_key=_string(provider_id, merged, "env_key") or None,
        env_key_instructions=_string(provider_id, merged, "env_key_instructions"),
        experimental_bearer_token=_string(provider_id, merged, "experimental_bearer_token") or None,
        http_headers=_string_table(provider_id, merged, "http_headers"),
        env_http_headers=_string_table(provider_id, merged, "env_http_headers"),
        query_params=_string_table(provider_id, merged, "query_params"),
        request_max_retries=_count(
            provider_id, merged, "request_max_retries", DEFAULT_REQUEST_MAX_RETRIES
        ),
        stream_max_retries=_count(
            provider_id, merged, "stream_max_retries", DEFAULT_STREAM_MAX_RETRIES
        ),
        stream_idle_timeout_ms=_positive(
            provider_id, merged, "stream_idle_timeout_ms", DEFAULT_STREAM_IDLE_TIMEOUT_MS
        ),
    )


def resolve_api_key(
    config: ProviderConfig, data_dir: Path, environ: Mapping[str, str]
) -> str | None:
    """The key to send: `experimental_bearer_token`, else `$env_key`, else (openai) auth.json.

    Returns None for a provider without `env_key` (local servers); raises `MissingCredentials`
    naming the variable and the config keys when a key is needed but found nowhere.
    """
    if config.experimental_bearer_token:
        return config.experimental_bearer_token
    if not config.env_key:
        return None
    value = environ.get(config.env_key, "").strip()
    if value:
        return value
    if config.id == "openai":
        stored = _auth_file_key(data_dir)
        if stored:
            return stored
    message = (
        f'No API key for model provider "{config.id}": set the {config.env_key} environment '
        f"variable (or model_providers.{config.id}.env_key / experimental_bearer_token in "
        "config.toml)."
    )
    if config.env_key_instructions:
        message = f"{message} {config.env_key_instructions}"
    raise MissingCredentials(message)


def resolve_headers(config: ProviderConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """Static `http_headers` plus every `env_http_headers` entry whose variable is set."""
    headers = dict(config.http_headers)
    for header, variable in config.env_http_headers.items():
        value = environ.get(variable, "").strip()
        if value:
            headers[header] = value
    return headers


def _auth_file_key(data_dir: Path) -> str | None:
    path = data_dir / AUTH_FILE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return None
    key = data.get(OPENAI_API_KEY_ENV) if isinstance(data, dict) else None
    return key.strip() or None if isinstance(key, str) else None


def _invalid(provider_id: str, key: str, expected: str, value: object) -> ProviderError:
    where = f"model_providers.{provider_id}" + (f".{key}" if key else "")
    return ProviderError(
        f"Invalid config: {where} must be {expected}, got {value!r}.", codex_error_info="other"
    )


def _string(provider_id: str, table: Mapping[str, Any], key: str) -> str | None:
    value = table.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _invalid(provider_id, key, "a string", value)


def _string_table(provider_id: str, table: Mapping[str, Any], key: str) -> dict[str, str]:
    value = table.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _invalid(provider_id, key, "a table of strings", value)
    return dict(value)


def _count(provider_id: str, table: Mapping[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid(provider_id, key, "a non-negative integer", value)
    return min(value, MAX_RETRIES_CAP)


def _positive(provider_id: str, table: Mapping[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _invalid(provider_id, key, "a positive integer", value)
    return value
