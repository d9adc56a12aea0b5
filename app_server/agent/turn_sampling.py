"""Sampling the model inside a turn: one request, its response streamed, retried on failure.

A turn samples the model again and again (`turn_runner`); this is one of those steps. The request
is built from the turn's history and tools, the response is streamed through the stream mapper
(every effect applied as it arrives: deltas to clients, finished items recorded), and a
retryable failure is retried under the provider's budgets with each retry announced to clients
(an `error` notification carrying `willRetry`, AGENT_LOOP.md §8.1). A request the model finds
too long for its window is retried once after compacting the context. Steered input cancels the
stream being read (`cancel_stream`): the step then carries only what finished before it.

It lives apart from the runner because the turn's state machine (input, tool calls, endings)
does not need to know how one response is had, only what it asked for (`StepResult`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app_server.agent.compaction import WINDOW_EXCEEDED, CompactionCause, is_window_exceeded
from app_server.agent.providers.base import ModelProvider, ProviderError, SamplingRequest
from app_server.agent.request_builder import RequestContext, build_request, sandbox_mode_of
from app_server.agent.retry import with_retries
from app_server.agent.step_effects import StepEffects, StepResult
from app_server.agent.stream_mapper import StreamMapper, stream_ended_early
from app_server.agent.turn_compaction import TurnCompaction
from app_server.agent.turn_setup import TurnFailed, TurnHost, TurnSetup
from protocol import types as wire
from protocol.types import TurnError

T = TypeVar("T")


class TurnSampling:
    """Samples the model for one turn (see the module docstring)."""

    def __init__(
        self,
        host: TurnHost,
        setup: TurnSetup,
        effects: StepEffects,
        steer: asyncio.Event,
        *,
        started_ms: int,
    ) -> None:
        self._host = host
        self._setup = setup
        self._turn_id = setup.turn_id
        self._thread_id = host.thread_id
        self._effects = effects
        self._steer = steer
        self._started_ms = started_ms
        self._provider: ModelProvider | None = None
        self._sampling: asyncio.Task[StepResult] | None = None

    def cancel_stream(self) -> None:
        """Steered input arrived: drop the response being streamed, if one is."""
        sampling = self._sampling
        if sampling is not None and not sampling.done():
            sampling.cancel()

    def model(self) -> ModelProvider:
        """The turn's provider, made at first use; failing to make it fails the turn."""
        if self._provider is None:
            self._provider = self._setup.provider()
        return self._provider

    def _request(self) -> SamplingRequest:
        return build_request(
            self.request_context(None), self._setup.model_history, self._setup.tools.specs()
        )

    def request_context(self, compaction: CompactionCause | None) -> RequestContext:
        setup, settings = self._setup, self._setup.settings
        window = setup.history.window
        return RequestContext(
            thread_id=self._thread_id,
            turn_id=self._turn_id,
            root_turn_id=setup.root_turn_id,
            model=settings.model,
            instructions=setup.instructions,
            effort=settings.reasoning_effort,
            summary=settings.reasoning_summary,
            config=settings.config.toml,
            originator=setup.originator,
            window_number=window.number if window is not None else 0,
            context_window_id=window.window_id if window is not None else None,
            output_schema=setup.output_schema if compaction is None else None,
            request_kind="compaction" if compaction is not None else "turn",
            compaction=compaction.metadata() if compaction is not None else None,
            history_initialization=setup.history_initialization,
            sandbox_mode=sandbox_mode_of(settings.sandbox),
            turn_started_at_ms=self._started_ms,
            subagent_kind=setup.subagent_kind,
            parent_turn_id=setup.parent_turn_id,
        )

    async def sample(self, provider: ModelProvider, compaction: TurnCompaction) -> StepResult:
        """One sampling step. A request the model finds too long for its window is retried once
        after compacting the context; any other final error fails the turn."""
        compacted = False
        while True:
            try:
                return await self.retrying(
                    provider, lambda: self._sample_once(provider, self._request())
                )
            except ProviderError as error:
                if compacted or not is_window_exceeded(error) or not self._setup.model_history:
                    raise TurnFailed(turn_error(error)) from None
            compacted = True
            await compaction.run(provider, WINDOW_EXCEEDED)

    async def retrying(self, provider: ModelProvider, attempt: Callable[[], Awaitable[T]]) -> T:
        """`attempt()` under the provider's retry budgets, each retry announced to clients."""
        return await with_retries(provider, attempt, self._announce_retry)

    def _announce_retry(self, error: ProviderError, number: int, budget: int) -> None:
        self._host.publish(
            wire.ErrorNotification(
                thread_id=self._thread_id,
                turn_id=self._turn_id,
                will_retry=True,
                error=TurnError(
                    message=f"Reconnecting... {number}/{budget}",
                    codex_error_info={
                        "responseStreamDisconnected": {"httpStatusCode": error.http_status}
                    },
                    additional_details=error.message,
                ),
            ),
        )

    async def _sample_once(self, provider: ModelProvider, request: SamplingRequest) -> StepResult:
        """Stream one response. Steered input cancels the stream (see `cancel_stream`): the step
        then carries only what finished before, tool calls included (they must be answered)."""
        step = StepResult()
        if self._steer.is_set():  # input arrived while no stream ran (e.g. a retry's backoff)
            step.steered = True
            return step
        self._sampling = asyncio.create_task(self._stream(provider, request, step))
        try:
            return await self._sampling
        except asyncio.CancelledError:
            task = asyncio.current_task()
            steered = self._sampling.cancelled() and self._steer.is_set()
            if steered and task is not None and not task.cancelling():
                step.steered = True
                return step
            raise
        finally:
            self._sampling = None

    async def _stream(
        self, provider: ModelProvider, request: SamplingRequest, step: StepResult
    ) -> StepResult:
        mapper = StreamMapper(self._thread_id, self._turn_id)
        stream = provider.stream(request)
        try:
            async for event in stream:
                for effect in mapper.feed(event):
                    self._effects.apply(effect, step)
        finally:
            if mapper.headers:
                self._host.response_headers_seen(mapper.headers)
            await stream.aclose()  # type: ignore[attr-defined]
        if not mapper.completed:
            raise stream_ended_early()
        return step


def turn_error(error: ProviderError) -> TurnError:
    """A provider's final error as the turn's error (`turn/completed`, the `error` notification)."""
    return TurnError(
        message=error.message,
        codex_error_info=error.codex_error_info,
        additional_details=error.details,
    )
