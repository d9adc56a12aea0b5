"""Build the provider for a `ProviderConfig`, reusing it (and its HTTP connections) across turns.

Opening a TLS connection costs more than a short turn, so providers are cached: the same config,
key and headers on the same event loop get the same provider object, whose `httpx` client keeps
a connection pool. The cache is per event loop because pooled connections belong to the loop that
opened them.

The provider modules (and `httpx` under them) are imported when the first provider is built, not
with this module: the server imports it at startup, and a process that only lists threads or
answers `initialize` should not pay for an HTTP stack it never uses (issue 17).
"""

from __future__ import annotations

import asyncio
import importlib
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import orjson
from msgspec.structs import asdict

from app_server.agent.providers.base import ModelProvider
from app_server.agent.providers.provider_config import (
    ProviderConfig,
    resolve_api_key,
    resolve_headers,
)

if TYPE_CHECKING:
    from app_server.agent.providers.chat_provider import ChatCompletionsProvider
    from app_server.agent.providers.responses_provider import ResponsesProvider

    _Provider: TypeAlias = ResponsesProvider | ChatCompletionsProvider

PROVIDER_MODULES: tuple[str, ...] = (
    "app_server.agent.providers.responses_provider",
    "app_server.agent.providers.chat_provider",
)
"""The provider transports (`httpx` under them, ~16 ms to import)."""

HTTP_STACK_MODULES: tuple[str, ...] = ("httpcore", "anyio._backends._asyncio")
"""What `httpx` itself imports only later: `httpcore` (with `h11` and `anyio`) when the first
client is made, anyio's asyncio backend on its first request; together about as much again as
`httpx`."""

TRANSPORT_MODULES: tuple[str, ...] = (*PROVIDER_MODULES, *HTTP_STACK_MODULES)
"""What a provider's first request imports, in import order (the background warm-up's steps)."""

FIRST_TURN_MODULES: tuple[str, ...] = (PROVIDER_MODULES[0], *HTTP_STACK_MODULES)
"""What `preload_transports` imports: the Responses transport (the default `wire_api`) with the
HTTP stack. The Chat Completions transport (~4 ms more on every first turn) is left to the
warm-up, or to the first turn of a `wire_api = "chat"` provider."""


async def preload_transports() -> None:
    """Import `FIRST_TURN_MODULES` now (a no-op once imported), so that a thread's first turn
    does not import them between its answer and its model request (issue 17). Yields to the
    event loop after each module (~10 ms each), so that what waits meanwhile (the child
    processes of the turn's git commands) is not held up longer than one module."""
    for module in FIRST_TURN_MODULES:
        importlib.import_module(module)
        await asyncio.sleep(0)


_CacheKey = tuple[str, str, str | None, bytes]
_caches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_CacheKey, _Provider]] = (
    weakref.WeakKeyDictionary()
)
_loopless: dict[_CacheKey, _Provider] = {}


def create_provider(
    config: ProviderConfig, data_dir: Path, environ: Mapping[str, str]
) -> ModelProvider:
    """The provider for `config` (by `wire_api`), cached per (id, base_url, key, settings).

    Raises `MissingCredentials` when the provider needs a key that is not configured.
    """
    api_key = resolve_api_key(config, data_dir, environ)
    headers = resolve_headers(config, environ)
    settings = orjson.dumps({"config": asdict(config), "headers": headers}, default=str)
    key: _CacheKey = (config.id, config.base_url, api_key, settings)
    cache = _cache_for_current_loop()
    provider = cache.get(key)
    if provider is None:
        if config.wire_api == "chat":
            from app_server.agent.providers.chat_provider import ChatCompletionsProvider

            provider = ChatCompletionsProvider(config, api_key, headers=headers)
        else:
            from app_server.agent.providers.responses_provider import ResponsesProvider

            provider = ResponsesProvider(config, api_key, headers=headers)
        cache[key] = provider
    return provider


async def close_providers() -> None:
    """Close every cached provider of the running loop (server shutdown)."""
    cache = _cache_for_current_loop()
    providers = list(cache.values())
    cache.clear()
    for provider in providers:
        await provider.aclose()


def _cache_for_current_loop() -> dict[_CacheKey, _Provider]:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _loopless
    cache = _caches.get(loop)
    if cache is None:
        cache = _caches[loop] = {}
    return cache
