"""Compaction inside a turn: summarize, replace the history, start the next context window.

A turn compacts before sampling when the latest response used `auto_compact_limit` tokens or
more (before its user input, or between two sampling steps), when the model rejected a request
as too long for its window, and — as the whole turn — when a client asked (`thread/compact/
start`). Each compaction is shown to clients as one `contextCompaction` item (not the deprecated
`thread/compacted` notification, which codex 0.169 no longer sends), and persisted as the
summary response, a `compacted` line (replacement history plus the new window's lineage) and a
full world-state snapshot, in that order, then flushed: a crash leaves either the old context
or the new one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from app_server.agent.compaction import (
    MAX_COMPACTION_TRIMS,
    CompactionCause,
    Summary,
    is_window_exceeded,
    summarization_input,
    summarize,
    trim_oldest,
)
from app_server.agent.harness_context import initial_context, world_state_for
from app_server.agent.providers.base import ModelProvider, ProviderError
from app_server.agent.request_builder import RequestContext, build_request
from app_server.agent.stream_mapper import ResponseCompleted
from app_server.agent.turn_recorder import TurnRecorder
from app_server.agent.turn_setup import TurnHost, TurnSetup
from app_server.ids import uuid7
from app_server.notification import now_ms
from app_server.rollout.compacted_history import message_text, replacement_history, summary_message
from app_server.rollout.context_windows import ContextWindow
from protocol.types import (
    ContextCompactionThreadItem,
    ItemCompletedNotification,
    ItemStartedNotification,
)

Retrying = Callable[[ModelProvider, Callable[[], Awaitable[Summary]]], Awaitable[Summary]]
"""Runs one sampling attempt under the turn's retry budgets (re-raising the final error)."""


class TurnCompaction:
    """Compacts its turn's thread (see the module docstring)."""

    def __init__(
        self,
        host: TurnHost,
        setup: TurnSetup,
        recorder: TurnRecorder,
        *,
        request_context: Callable[[CompactionCause], RequestContext],
        retrying: Retrying,
        on_usage: Callable[[ResponseCompleted], None],
    ) -> None:
        self._host = host
        self._setup = setup
        self._recorder = recorder
        self._request_context = request_context
        self._retrying = retrying
        self._on_usage = on_usage

    def due(self) -> bool:
        """Whether the latest response reached the auto-compaction limit."""
        limit = self._setup.auto_compact_limit
        used = self._setup.history.last_usage_tokens
        # A compaction resets `last_usage_tokens`: one response never triggers two.
        return limit is not None and used is not None and used >= limit

    async def run(self, provider: ModelProvider, cause: CompactionCause) -> None:
        """One compaction, announced and persisted; raises `ProviderError` if the summary
        cannot be had (the turn then fails with it)."""
        setup, history = self._setup, self._setup.history
        thread_id, turn_id = self._host.thread_id, setup.turn_id
        item_id, started = uuid7(), now_ms()
        item = ContextCompactionThreadItem(id=item_id, started_at_ms=started)
        self._host.publish(
            ItemStartedNotification(
                thread_id=thread_id, turn_id=turn_id, started_at_ms=started, item=item
            ),
        )
        summary = await self._summarize(provider, cause)
        self._on_usage(summary.completed)
        summary_item = summary_message(summary.text, f"msg_{uuid7()}")
        replacement = replacement_history(
            history.items, summary_item, initial_context(setup.settings, setup.skills_instructions)
        )
        current = history.window or ContextWindow.initial(uuid7())
        window = current.successor(uuid7())
        snapshot = history.world_state.snapshot(world_state_for(setup.settings))
        self._recorder.compacted(summary, message_text(summary_item), replacement, window, snapshot)
        history.window = window
        history.last_usage_tokens = None
        completed = now_ms()
        self._recorder.context_compaction(item_id, started, completed)
        await self._recorder.flush()
        self._host.publish(
            ItemCompletedNotification(
                thread_id=thread_id,
                turn_id=turn_id,
                completed_at_ms=completed,
                item=item.model_copy(update={"completed_at_ms": completed}),
            ),
        )

    async def _summarize(self, provider: ModelProvider, cause: CompactionCause) -> Summary:
        """The summary; a request too long for the window is retried with less history."""
        thread_id, turn_id = self._host.thread_id, self._setup.turn_id
        history: list[dict[str, Any]] = list(self._setup.history.items)
        trims = 0
        while True:
            request = build_request(
                self._request_context(cause),
                summarization_input(history),
                [],
                parallel_tool_calls=False,
            )
            try:
                return await self._retrying(
                    provider, partial(summarize, provider, request, thread_id, turn_id)
                )
            except ProviderError as error:
                if not is_window_exceeded(error) or trims >= MAX_COMPACTION_TRIMS:
                    raise
                shorter = trim_oldest(history)
                if shorter is None:
                    raise
                history = shorter
                trims += 1
