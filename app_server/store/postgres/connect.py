"""Opening the PostgreSQL store's connection pool, and saying clearly why it cannot be opened.

A bad or unreachable URL must end the server at start with one line naming where it tried to
connect (`StoreUnavailable`), never a traceback: every failure asyncpg can raise while
connecting (refused, unknown host, timeout, authentication, missing database, malformed URL) is
turned into that one error here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, Final, ParamSpec, Protocol, TypeAlias, TypeVar
from urllib.parse import parse_qs, urlsplit

import asyncpg

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

from app_server.store.errors import StoreUnavailable

Connection: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"
"""A connection borrowed from the store's pool."""

CONNECT_TIMEOUT_SECONDS: Final = 10.0
"""How long one connection attempt may take (the server must fail within 15 s on a dead
host); a live database answers in milliseconds."""
POOL_MAX_SIZE: Final = 10
"""Connections per process: each costs a PostgreSQL backend (~10 MB); ten keep listing, search
and several writers' flushes from queuing behind each other."""
POSTGRES_SCHEMES: Final = ("postgresql", "postgres")
"""URL schemes selecting the PostgreSQL store."""


def is_postgres_url(url: str) -> bool:
    """Whether `url` selects the PostgreSQL store."""
    scheme, separator, _ = url.partition("://")
    return bool(separator) and scheme.lower() in POSTGRES_SCHEMES


def describe_target(url: str) -> str:
    """`host:port/database` of a URL, for error messages (never the password)."""
    try:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        host = parts.hostname or (query.get("host") or ["localhost"])[0]
        port = parts.port or int((query.get("port") or ["5432"])[0])
    except ValueError:
        return "an unparsable URL"
    database = parts.path.lstrip("/") or "(default database)"
    return f"{host}:{port}/{database}"


def search_path_of(schema: str | None) -> str | None:
    """The `search_path` of the store's connections (`schema` first, then `public`, where
    `pg_trgm` usually lives); None keeps the server's default."""
    return None if schema is None else f'"{schema}", public'


async def open_pool(url: str, *, schema: str | None = None) -> asyncpg.Pool:
    """A pool of connections to `url` (one connection is made now, so a bad URL fails here).

    Raises `StoreUnavailable` naming the host, port and database, with PostgreSQL's reason.
    """
    settings = {"application_name": "app-server"}
    if (path := search_path_of(schema)) is not None:
        settings["search_path"] = path
    try:
        return await asyncio.wait_for(
            asyncpg.create_pool(
                url,
                min_size=1,
                max_size=POOL_MAX_SIZE,
                timeout=CONNECT_TIMEOUT_SECONDS,
                server_settings=settings,
            ),
            CONNECT_TIMEOUT_SECONDS + 1,
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise StoreUnavailable(describe_target(url), _reason(error)) from None
    except ValueError as error:  # a malformed URL (asyncpg's ClientConfigurationError too)
        raise StoreUnavailable(describe_target(url), f"invalid URL: {error}") from None


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT_SECONDS:g} s"
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


CONNECTION_ERRORS: Final = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InternalClientError,
)
"""What asyncpg raises when the database is gone (refused, reset, shut down, pool closed; a
session the server ended while it was idle surfaces as an `InternalClientError` at its next
use, and the pool replaces the connection)."""


class HasUrl(Protocol):
    @property
    def url(self) -> str: ...


S = TypeVar("S", bound=HasUrl)
P = ParamSpec("P")
R = TypeVar("R")


def unavailable_on_connection_loss(
    method: Callable[Concatenate[S, P], Awaitable[R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """Turn a lost or refused connection during `method` into `StoreUnavailable` (a clear
    `-32001` for the client, naming the database) instead of an internal error. The pool
    reconnects by itself: the next request after the database is back succeeds."""

    async def guarded(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(self, *args, **kwargs)
        except CONNECTION_ERRORS as error:
            raise StoreUnavailable(describe_target(self.url), _reason(error)) from error

    guarded.__name__, guarded.__qualname__ = method.__name__, method.__qualname__
    guarded.__doc__ = method.__doc__
    return guarded
