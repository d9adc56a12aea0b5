"""Background warm-up right after the server starts: what the first requests and the first turn
need, built while the client is not waiting for anything else (issue 17).

Every protocol model defers building its validator and serializer to first use (`WireModel`), so
that importing ~500 models stays cheap. The price is paid by the first request that touches a
model: `Thread` alone took ~45 ms on the first `thread/start` or `thread/list`. Here the models of
the common first requests (`thread/start`, `thread/list`, `turn/start` and the notifications of a
turn) are built one per step on the event loop, and the model provider's HTTP stack is imported
and its TLS context loaded, so that a turn finds them ready.

Why on the loop and not in a thread: building a schema is pure Python holding the GIL, so a
thread would only slow down the request being served (and could build the same model twice). A
step starts only after a pause without requests (`Dispatcher.until_quiet`, `QUIET_SECONDS`);
the longest step (importing `httpx`, loading the TLS context) takes ~20 ms, so a request
arriving meanwhile waits at most that long.

Why this order: pydantic reuses the schema of a nested model that is already built. Building the
`ThreadItem` variants first, then `Turn`, then what contains them, costs ~30 ms in all, where
building `Thread` first and each notification as it comes costs ~75 ms (each re-derives the item
union). Nothing here changes what a model validates or how it serializes.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import get_args

# The transport module lists live with the provider factory (`preload_transports`, which a
# thread's first turn also calls); they are named here too, as the warm-up's steps.
from app_server.agent.providers.factory import HTTP_STACK_MODULES as HTTP_STACK_MODULES
from app_server.agent.providers.factory import PROVIDER_MODULES as PROVIDER_MODULES
from app_server.agent.providers.factory import TRANSPORT_MODULES
from protocol import types as wire
from protocol.wire_model import WireModel

log = logging.getLogger(__name__)

FIRST_MODELS: tuple[type[WireModel], ...] = (
    wire.Turn,
    wire.Thread,
    wire.ThreadListParams,
    wire.ThreadListResponse,
)
"""Built with the `ThreadItem` variants before the server serves anything (`build_first`, ~15
ms): the two commonest first requests, `thread/start` and `thread/list`, answer with a `Thread`
and would otherwise build it themselves, at ~25 ms (all of it in their latency). `thread/list`'s
own models (~4 ms more, once `Thread` is built) join them: an IDE's first request is usually
the history panel's listing, and those 4 ms were most of its first answer's latency, while the
server proper's import (~350 ms) is still being waited for anyway."""

HOT_MODELS: tuple[type[WireModel], ...] = (
    wire.ThreadStartParams,
    wire.ThreadStartResponse,
    wire.ThreadStartedNotification,
    wire.ThreadStatusChangedNotification,
    wire.TurnStartParams,
    wire.TurnStartResponse,
    wire.TurnStartedNotification,
    wire.ItemStartedNotification,
    wire.ItemCompletedNotification,
    wire.AgentMessageDeltaNotification,
    wire.ThreadTokenUsageUpdatedNotification,
    wire.AccountRateLimitsUpdatedNotification,
    wire.TurnCompletedNotification,
    wire.ThreadReadStateChangedNotification,
)
"""Built in the background after `FIRST_MODELS`, in this order: `thread/start` first, then a
turn's requests and notifications."""


def _item_variants() -> tuple[type[WireModel], ...]:
    """The members of the `ThreadItem` union (`Annotated[A | B | …, discriminator]`)."""
    union = get_args(wire.ThreadItem)[0]
    return tuple(member for member in get_args(union) if issubclass(member, WireModel))


def _build(model: type[WireModel]) -> None:
    if not model.__pydantic_complete__:
        model.model_rebuild()


def _build_all(models: tuple[type[WireModel], ...]) -> None:
    for model in models:
        _build(model)


def _load_tls_context() -> None:
    from app_server.agent.providers.tls_context import default_ssl_context

    default_ssl_context()


def build_first() -> None:
    """Build the `ThreadItem` variants and `FIRST_MODELS` now (before serving)."""
    try:
        _build_all(_item_variants())
        _build_all(FIRST_MODELS)
    except Exception:  # built on first use instead, as without warm-up
        log.debug("building the first models failed", exc_info=True)


def warm_up_steps() -> Iterator[Callable[[], None]]:
    """The background steps, in order; each is short enough to run between two requests."""
    turn_start_at = HOT_MODELS.index(wire.TurnStartResponse)
    for model in HOT_MODELS[: turn_start_at + 1]:
        yield lambda model=model: _build(model)  # type: ignore[misc]
    for module in TRANSPORT_MODULES:
        yield lambda module=module: importlib.import_module(module)  # type: ignore[misc]
    yield _load_tls_context
    for model in HOT_MODELS[turn_start_at + 1 :]:
        yield lambda model=model: _build(model)  # type: ignore[misc]


QUIET_SECONDS = 0.05
"""A step starts only after this long without a request (`Dispatcher.until_quiet`): a client
that sends its next request a round trip after an answer must not find a step in its way (a
step takes up to ~20 ms, several times that on a loaded machine). The cost: warm-up waits for a
pause, so a first turn sent right behind `thread/start` may still import the provider itself."""


COLLECTOR_PAUSE_LIMIT_SECONDS = 5.0
"""How long after start the cyclic garbage collector may stay off at most (see `warm_up`): a
server kept busy from its start, which never gets to finish its warm-up, collects cyclic garbage
again from then on. The cost: until then, cyclic garbage (rare on these paths: asyncio and
pydantic free what they make by reference counting) is not collected."""


async def warm_up(until_quiet: Callable[[float], Awaitable[None]]) -> None:
    """Run every step, each once no request has been served for `QUIET_SECONDS`; a failing
    step is logged and skipped (what it would have built is built on first use, as without
    warm-up).

    Then the cyclic garbage collector, off since the server proper was imported over stdio
    (`app_server.startup`), is turned back on, or after `COLLECTOR_PAUSE_LIMIT_SECONDS` if the
    warm-up takes longer. Until then the first requests and the first turn import the HTTP
    stack and build their models: tens of thousands of objects that live as long as the
    process, over which the collector's passes would be wasted work (~3 ms of a first turn)."""
    resume = asyncio.get_running_loop().call_later(COLLECTOR_PAUSE_LIMIT_SECONDS, gc.enable)
    try:
        for step in warm_up_steps():
            await until_quiet(QUIET_SECONDS)
            try:
                step()
            except Exception:
                log.debug("warm-up step failed", exc_info=True)
    finally:
        resume.cancel()
        gc.enable()
