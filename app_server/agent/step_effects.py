"""What a sampling step's stream does to its turn: the stream mapper's effects carried out.

`StreamMapper` turns Responses events into effects without doing anything; this is where they
happen — notifications published, finished items recorded, tool calls queued for the turn, token
usage counted and reported, safety-buffering updates sent once per distinct state.
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct, field

from app_server.agent.stream_mapper import (
    Emit,
    ModerationMetadata,
    OutputItemDone,
    ResponseCompleted,
    SafetyBuffering,
)
from app_server.agent.token_usage import from_response_usage
from app_server.agent.tools.registry import ToolCall
from app_server.agent.turn_recorder import TurnRecorder
from app_server.agent.turn_setup import TurnHost, TurnSetup
from app_server.agent.turn_tool_calls import TurnToolCalls
from protocol import types as wire
from protocol.types import (
    AgentMessageThreadItem,
    ItemCompletedNotification,
    ReasoningThreadItem,
    ThreadTokenUsageUpdatedNotification,
)

SAFETY_BUFFERING_METHODS = ("turn/safetyBuffering/updated", "model/safetyBuffering/updated")
"""Both names are sent: 0.169's, and the one our issue tracker's clients follow."""


class StepResult(Struct):
    """What one sampling step produced."""

    tool_calls: list[ToolCall] = field(default_factory=list)
    steered: bool = False
    usage: dict[str, int] | None = None
    """The completed response's token usage, reported (`token_count`, `thread/tokenUsage/
    updated`) by `StepEffects.report_usage` once the step's tool calls have run, as codex."""


class StepEffects:
    """Carries out the effects of a turn's sampling steps (see the module docstring)."""

    def __init__(
        self, host: TurnHost, setup: TurnSetup, recorder: TurnRecorder, tool_calls: TurnToolCalls
    ) -> None:
        self._host = host
        self._setup = setup
        self._recorder = recorder
        self._tool_calls = tool_calls
        self._safety_seen: set[tuple[Any, ...]] = set()
        self.last_agent_message: AgentMessageThreadItem | None = None
        """The turn's latest agent message (its final answer once the turn completed)."""

    def apply(self, effect: object, step: StepResult) -> None:
        if isinstance(effect, Emit):
            self._host.publish(effect.params)
        elif isinstance(effect, OutputItemDone):
            self._output_done(effect, step)
        elif isinstance(effect, ResponseCompleted):
            step.usage = self._count(effect)
        elif isinstance(effect, SafetyBuffering):
            self._safety_buffering(effect)
        elif isinstance(effect, ModerationMetadata):
            self._host.publish(
                wire.TurnModerationMetadataNotification(
                    thread_id=self._host.thread_id,
                    turn_id=self._setup.turn_id,
                    metadata=effect.metadata,
                ),
            )

    def _output_done(self, done: OutputItemDone, step: StepResult) -> None:
        item = done.thread_item
        if isinstance(item, AgentMessageThreadItem):
            self.last_agent_message = item
        if isinstance(item, AgentMessageThreadItem | ReasoningThreadItem) or item is None:
            self._recorder.finished(done.item, item, done.started_at_ms, done.completed_at_ms)
        if item is not None:
            self._host.publish(
                ItemCompletedNotification(
                    thread_id=self._host.thread_id,
                    turn_id=self._setup.turn_id,
                    completed_at_ms=done.completed_at_ms,
                    item=item,
                ),
            )
        if done.is_tool_call:
            call = ToolCall.from_item(done.item)
            step.tool_calls.append(call)
            self._tool_calls.recorded(call)

    def usage(self, completed: ResponseCompleted) -> None:
        """A response's token usage counted, recorded and reported at once (a compaction's)."""
        self.report_usage(self._count(completed))

    def _count(self, completed: ResponseCompleted) -> dict[str, int]:
        """A response's token usage: counted, its `token_usage_record` written, and remembered
        as the size of the context (what auto-compaction compares with its limit)."""
        setup = self._setup
        usage = from_response_usage(completed.usage)
        setup.tokens.add(usage)
        setup.history.last_usage_tokens = usage["total_tokens"] or (
            usage["input_tokens"] + usage["output_tokens"]
        )
        self._recorder.usage_record(completed.response_id, usage)
        return usage

    def report_usage(self, usage: dict[str, int]) -> None:
        """The `token_count` line and `thread/tokenUsage/updated` for a counted response."""
        setup = self._setup
        self._recorder.token_count(usage)
        self._host.publish(
            ThreadTokenUsageUpdatedNotification(
                thread_id=self._host.thread_id,
                turn_id=setup.turn_id,
                token_usage=setup.tokens.wire(setup.context_window),
            ),
        )
        self._host.response_completed()

    def _safety_buffering(self, effect: SafetyBuffering) -> None:
        key = (tuple(effect.use_cases), tuple(effect.reasons), effect.faster_model)
        if key in self._safety_seen:
            return
        self._safety_seen.add(key)
        params = wire.ModelSafetyBufferingUpdatedNotification(
            thread_id=self._host.thread_id,
            turn_id=self._setup.turn_id,
            model=self._setup.settings.model,
            use_cases=effect.use_cases,
            reasons=effect.reasons,
            show_buffering_ui=True,
            faster_model=effect.faster_model,
        )
        for method in SAFETY_BUFFERING_METHODS:
            self._host.publish(params, method=method)
