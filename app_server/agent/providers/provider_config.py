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
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from app_server.agent.providers.base import MissingCredentials, ProviderError, WireApi
from app_server.config import ConfigToml, InvalidValue, validate_config
from app_server.config.defaults import (
    DEFAULT_MODEL_PROVIDER,
    DEFAULT_REQUEST_MAX_RETRIES,
    DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    DEFAULT_STREAM_MAX_RETRIES,
    DEFAULT_WIRE_API,
)
from app_server.config.keys import ModelProviderToml

log = logging.getLogger(__name__)

__all__ = [  # the defaults live with the config keys; callers know them from here too
    "DEFAULT_PROVIDER_ID",
    "DEFAULT_REQUEST_MAX_RETRIES",
    "DEFAULT_STREAM_IDLE_TIMEOUT_MS",
    "DEFAULT_STREAM_MAX_RETRIES",
    "DEFAULT_WIRE_API",
    "ProviderConfig",
    "known_provider_ids",
    "provider_from_config",
    "resolve_api_key",
    "resolve_headers",
    "resolve_provider",
]

DEFAULT_PROVIDER_ID = DEFAULT_MODEL_PROVIDER
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

BUILTIN_PROVIDERS: Mapping[str, ModelProviderToml] = {
    "openai": ModelProviderToml.model_construct(
        name="OpenAI",
        base_url=OPENAI_BASE_URL,
        env_key=OPENAI_API_KEY_ENV,
        env_http_headers={
            "OpenAI-Organization": "OPENAI_ORGANIZATION",
            "OpenAI-Project": "OPENAI_PROJECT",
        },
    ),
    "ollama": ModelProviderToml.model_construct(name="gpt-oss", base_url=OLLAMA_BASE_URL),
    "lmstudio": ModelProviderToml.model_construct(name="gpt-oss", base_url=LMSTUDIO_BASE_URL),
}
"""The providers Codex knows without a `[model_providers.<id>]` table (constructed, as every
config table is: see `ConfigTable`)."""


class ProviderConfig(Struct, frozen=True):
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


def known_provider_ids(config: ConfigToml) -> list[str]:
    """Built-in ids plus every `[model_providers.<id>]` table, sorted."""
    return sorted(set(BUILTIN_PROVIDERS) | set(config.model_providers))


def resolve_provider(
    config: ConfigToml | Mapping[str, Any],
    provider_id: str | None,
    data_dir: Path,
    environ: Mapping[str, str],
) -> ProviderConfig:
    """The provider `provider_id` (None → `model_provider`), credentials checked.

    `config` is the typed config (the server's or a thread's: its bad values were reported and
    dropped when it was loaded), or a plain table (tools, tests), checked here, where a bad value
    of the provider's table is an error naming it rather than a warning.

    Raises `ProviderError` when the id is unknown or its table is unusable, and
    `MissingCredentials` when it needs a key that is not configured anywhere.
    """
    if not isinstance(config, ConfigToml):
        config = _checked_table(config, provider_id)
    resolved = provider_from_config(config, provider_id or config.model_provider, environ)
    resolve_api_key(resolved, data_dir, environ)
    return resolved


def _checked_table(values: Mapping[str, Any], provider_id: str | None) -> ConfigToml:
    validated = validate_config(values)
    table = f"model_providers.{provider_id or validated.toml.model_provider}"
    for bad in validated.invalid:
        if bad.key == table or bad.key.startswith(f"{table}."):
            raise _invalid(bad)
    return validated.toml


def provider_from_config(
    config: ConfigToml, provider_id: str, environ: Mapping[str, str]
) -> ProviderConfig:
    """The built-in defaults (if any) under `[model_providers.<id>]`; no credential check."""
    table = config.model_providers.get(provider_id)
    builtin = BUILTIN_PROVIDERS.get(provider_id)
    if table is None and builtin is None:
        known = ", ".join(known_provider_ids(config))
        raise ProviderError(
            f'Model provider "{provider_id}" not found: add a [model_providers.{provider_id}] '
            f"table to config.toml or use one of the known providers: {known}.",
            codex_error_info="other",
        )
    merged = builtin or ModelProviderToml.model_construct()
    if table is not None:
        merged = merged.model_copy(update={k: getattr(table, k) for k in table.model_fields_set})
    base_url = merged.base_url
    if provider_id == "openai" and (table is None or "base_url" not in table.model_fields_set):
        base_url = environ.get(OPENAI_BASE_URL_ENV) or OPENAI_BASE_URL
    if not base_url:
        raise ProviderError(
            f"model_providers.{provider_id}.base_url is required (e.g. http://127.0.0.1:8080/v1).",
            codex_error_info="other",
        )
    wire_api: WireApi = merged.wire_api or DEFAULT_WIRE_API
    return ProviderConfig(
        id=provider_id,
        name=merged.name or provider_id,
        base_url=base_url.rstrip("/"),
        wire_api=wire_api,
        model=config.model,
        env_key=merged.env_key or None,
        env_key_instructions=merged.env_key_instructions,
        experimental_bearer_token=merged.experimental_bearer_token or None,
        http_headers=dict(merged.http_headers or {}),
        env_http_headers=dict(merged.env_http_headers or {}),
        query_params=dict(merged.query_params or {}),
        request_max_retries=_capped(merged.request_max_retries, DEFAULT_REQUEST_MAX_RETRIES),
        stream_max_retries=_capped(merged.stream_max_retries, DEFAULT_STREAM_MAX_RETRIES),
        stream_idle_timeout_ms=merged.stream_idle_timeout_ms or DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    )


def _capped(value: int | None, default: int) -> int:
    return min(default if value is None else value, MAX_RETRIES_CAP)


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


def _invalid(bad: InvalidValue) -> ProviderError:
    return ProviderError(
        f"Invalid config: {bad.key} must be {bad.expected}, got {bad.shown_value}.",
        codex_error_info="other",
    )
