"""Everything a turn writes to its rollout, in codex's order (STORAGE.md §3.5).

The turn runner decides *when*; this module decides *what*: the opening lines (task start, the
first turn's harness context, the turn context), each finished item as a display line (paginated
`item_completed` or the legacy events) followed by its model-visible `response_item` (a user
message's `response_item` comes first, as codex writes it), token
records, and the closing lines of a completed, failed or interrupted turn. Every model-visible
item is also appended to the thread's in-memory model history, in the same order as in the file,
so what the next request sends is what a resumed thread will send.
"""

from __future__ import annotations

import logging
from typing import Any

from app_server.agent.compaction import Summary
from app_server.agent.harness_context import (
    context_updates,
    initial_context,
    is_our_world_state,
    world_state_for,
)
from app_server.agent.inter_agent import InterAgentMessage, Mail
from app_server.agent.request_builder import strip_internal
from app_server.agent.tools.registry import ToolCall, ToolItem, output_item
from app_server.agent.turn_setup import TurnSetup
from app_server.ids import uuid7
from app_server.rollout import item_events, model_lines, settings_lines, turn_lifecycle
from app_server.rollout.context_windows import ContextWindow
from app_server.rollout.core_items import (
    context_compaction,
    core_agent_message,
    core_reasoning,
    core_user_message,
)
from app_server.rollout.items import CoreItem
from app_server.rollout.lines import JsonObject, RolloutItem, WorldStatePayload
from app_server.sandbox_policy import sandbox_to_disk
from protocol.types import (
    AgentMessageThreadItem,
    ReasoningThreadItem,
    TurnError,
    UserMessageThreadItem,
)

log = logging.getLogger(__name__)

FinishedItem = UserMessageThreadItem | AgentMessageThreadItem | ReasoningThreadItem


class TurnRecorder:
    """Writes one turn's lines through the thread's writer (none for ephemeral threads)."""

    def __init__(self, setup: TurnSetup, thread_id: str, started_at: int) -> None:
        self._setup = setup
        self._thread_id = thread_id
        self._turn_id = setup.turn_id
        self._started_at = started_at

    def _append(self, rollout: list[RolloutItem]) -> None:
        if self._setup.writer is not None and rollout:
            self._setup.writer.append(rollout)

    def _remember(self, model_item: JsonObject) -> None:
        self._setup.model_history.append(strip_internal(model_item))

    async def flush(self) -> None:
        if self._setup.writer is not None:
            await self._setup.writer.flush()

    async def sync(self) -> None:
        """fsync at the end of the turn; a failure is logged, the turn's outcome stands."""
        if self._setup.writer is not None:
            try:
                await self._setup.writer.sync()
            except OSError:
                log.exception("syncing the rollout of %s failed", self._thread_id)

    def _task_started(self) -> RolloutItem:
        setup = self._setup
        return turn_lifecycle.task_started(
            self._turn_id,
            setup.root_turn_id,
            self._started_at,
            setup.context_window,
            parent_turn_id=setup.parent_turn_id,
            initiating_agent_path=setup.initiating_agent_path,
        )

    def shell_opening(self) -> None:
        """A user shell command's turn, or a review's, opens with `task_started` alone (no
        context: the thread's model is not sampled; the next turn sends it)."""
        self._append([self._task_started()])

    def opening(self) -> None:
        """`task_started`, the first turn's context, `turn_context` (and settings)."""
        setup, settings = self._setup, self._setup.settings
        out: list[RolloutItem] = [self._task_started()]
        out.extend(self._context(setup.first_turn))
        approval = settings_lines.approval_policy_to_disk(settings.approval_policy)
        out.append(
            settings_lines.turn_context(
                self._turn_id,
                setup.root_turn_id,
                cwd=settings.cwd,
                approval_policy=approval,
                approvals_reviewer=settings.approvals_reviewer,
                sandbox_policy=sandbox_to_disk(settings.sandbox),
                model=settings.model,
                effort=settings.reasoning_effort,
                summary=settings.reasoning_summary,
                mode=settings.collaboration_mode,
                developer_instructions=settings.collaboration_instructions,
                disabled_plugin_ids=settings.disabled_plugin_ids,
            )
        )
        if setup.first_turn:
            out.append(
                settings_lines.thread_settings_applied(
                    self._thread_id,
                    model=settings.model,
                    model_provider=settings.model_provider,
                    approval_policy=approval,
                    approvals_reviewer=settings.approvals_reviewer,
                    cwd=settings.cwd,
                    effort=settings.reasoning_effort,
                    mode=settings.collaboration_mode,
                    developer_instructions=settings.collaboration_instructions,
                    personality=settings.personality,
                    disabled_plugin_ids=settings.disabled_plugin_ids,
                )
            )
        self._append(out)

    def _context(self, first_turn: bool) -> list[RolloutItem]:
        """The harness context this turn adds: the initial context and its world-state snapshot
        on a thread's first turn; later, update messages and a patch for what changed. A state
        another program recorded is replaced by a snapshot (nothing to diff it against)."""
        settings, world = self._setup.settings, self._setup.history.world_state
        current = world_state_for(settings)
        if first_turn:
            items = initial_context(settings, self._setup.skills_instructions)
            payload: WorldStatePayload | None = world.snapshot(current)
        elif not is_our_world_state(world.state):
            items, payload = [], world.snapshot(current)
        else:
            payload = world.update(current)
            items = context_updates(settings, payload["state"]) if payload else []
        out: list[RolloutItem] = [model_lines.response_item(item, self._turn_id) for item in items]
        for item in items:
            self._remember(item)
        if payload is not None:
            out.append(model_lines.world_state(payload))  # after the history it describes
        return out

    def compacted(
        self,
        summary: Summary,
        message: str,
        replacement: list[dict[str, Any]],
        window: ContextWindow,
        world_state: WorldStatePayload,
    ) -> None:
        """A compaction's records: the summary response, the `compacted` line that replaces the
        history and starts `window`, and the new window's world-state snapshot."""
        out: list[RolloutItem] = []
        if summary.model_item is not None:
            out.append(model_lines.response_item(summary.model_item, self._turn_id))
        out.append(
            model_lines.compacted(message, replacement, window, summary.completed.response_id)
        )
        out.append(model_lines.world_state(world_state))
        self._append(out)
        self._setup.history.items[:] = replacement

    def context_compaction(self, item_id: str, started: int, completed: int) -> None:
        """The `contextCompaction` item's display line."""
        if self._setup.history_mode == "paginated":
            core = context_compaction(item_id)
            line = item_events.item_completed(
                self._thread_id, self._turn_id, core, started, completed
            )
        else:
            line = item_events.context_compacted()
        self._append([line])

    def finished(
        self, model_item: dict[str, Any], item: FinishedItem | None, started: int, completed: int
    ) -> None:
        """A finished item: its display line (paginated or legacy), then its history line; a
        user message's history line comes first, as codex writes it."""
        out: list[RolloutItem] = []
        if item is not None:
            if self._setup.history_mode == "paginated":
                core: CoreItem = (
                    core_user_message(item)
                    if isinstance(item, UserMessageThreadItem)
                    else core_agent_message(item)
                    if isinstance(item, AgentMessageThreadItem)
                    else core_reasoning(item)
                )
                out.append(
                    item_events.item_completed(
                        self._thread_id, self._turn_id, core, started, completed
                    )
                )
            elif isinstance(item, UserMessageThreadItem):
                out.append(item_events.legacy_user_message(item))
            elif isinstance(item, AgentMessageThreadItem):
                out.append(item_events.legacy_agent_message(item.text, item.phase))
            else:
                out.extend(item_events.legacy_agent_reasoning(text) for text in item.summary)
        history = model_lines.response_item(model_item, self._turn_id)
        if isinstance(item, UserMessageThreadItem):
            out.insert(0, history)
        else:
            out.append(history)
        self._append(out)
        self._remember(model_item)

    def inter_agent(self, message: Mail) -> None:
        """A message from another agent joins history (an agent message after its metadata
        line; a v1 notification as a user message)."""
        model_item = message.model_item()
        out: list[RolloutItem] = []
        if isinstance(message, InterAgentMessage):
            out.append(model_lines.inter_agent_metadata(message.trigger_turn))
        out.append(model_lines.response_item(model_item, self._turn_id))
        self._append(out)
        self._remember(model_item)

    def tool_finished(
        self, call: ToolCall, output: str | list[dict[str, Any]], item: ToolItem | None
    ) -> None:
        """A tool call's result: its item's display line (if it showed one), then the output
        the model reads (`function_call_output` / `custom_tool_call_output`)."""
        self._item_then_model_item(item, output_item(call, output))

    def user_shell(self, item: ToolItem, model_item: JsonObject) -> None:
        """The user's shell command: its item's display line, then the `<user_shell_command>`
        message the model reads next turn."""
        self._item_then_model_item(item, model_item)

    def user_shell_item(self, item: ToolItem) -> None:
        """A user shell command run inside a running turn: its display line at once; its
        message waits for the turn's next sampling step (`user_shell_record`)."""
        self._append(self._display_line(item))

    def user_shell_record(self, model_item: JsonObject) -> None:
        """The `<user_shell_command>` message of a command run inside a running turn."""
        self._append([model_lines.response_item(model_item, self._turn_id)])
        self._remember(model_item)

    def _display_line(self, item: ToolItem | None) -> list[RolloutItem]:
        """An item's display line: `item_completed`, or its legacy event in legacy threads."""
        if item is None:
            return []
        if self._setup.history_mode == "paginated":
            return [
                item_events.item_completed(
                    self._thread_id,
                    self._turn_id,
                    item.core,
                    item.started_at_ms,
                    item.completed_at_ms,
                )
            ]
        return [item_events.legacy_event(item.legacy)] if item.legacy is not None else []

    def _item_then_model_item(self, item: ToolItem | None, model_item: JsonObject) -> None:
        """An item's display line, then what the model reads, in one append."""
        out = self._display_line(item)
        out.append(model_lines.response_item(model_item, self._turn_id))
        self._append(out)
        self._remember(model_item)

    def usage(self, response_id: str | None, usage: dict[str, int]) -> None:
        """Both token records of a model response, written together (a compaction's)."""
        self.usage_record(response_id, usage)
        self.token_count(usage)

    def usage_record(self, response_id: str | None, usage: dict[str, int]) -> None:
        """The `token_usage_record` written as a model response completes."""
        setup = self._setup
        self._append(
            [
                turn_lifecycle.token_usage_record(
                    self._thread_id,
                    self._turn_id,
                    setup.root_turn_id,
                    response_id,
                    usage,
                    dict(setup.tokens.turn),
                    dict(setup.tokens.thread),
                )
            ]
        )

    def token_count(self, usage: dict[str, int]) -> None:
        """The `token_count` event of a sampling step, written once its tool calls have their
        outputs (codex's order: record, tool outputs, count)."""
        setup = self._setup
        self._append(
            [turn_lifecycle.token_count(dict(setup.tokens.thread), usage, setup.context_window)]
        )

    def completed(
        self, last_agent_message: str | None, completed_at: int, duration_ms: int
    ) -> None:
        self._append(
            [
                turn_lifecycle.task_complete(
                    self._turn_id,
                    self._setup.root_turn_id,
                    last_agent_message=last_agent_message,
                    started_at=self._started_at,
                    completed_at=completed_at,
                    duration_ms=duration_ms,
                )
            ]
        )

    def failed(self, error: TurnError, completed_at: int, duration_ms: int) -> None:
        self._append(
            [
                turn_lifecycle.task_complete(
                    self._turn_id,
                    self._setup.root_turn_id,
                    last_agent_message=None,
                    started_at=self._started_at,
                    completed_at=completed_at,
                    duration_ms=duration_ms,
                    error=error,
                )
            ]
        )

    def interrupted(self, completed_at: int, duration_ms: int, *, replaced: bool = False) -> None:
        """The `<turn_aborted>` notice (model-visible) and the `turn_aborted` event; a turn a
        review replaced gets the event alone (`reason: replaced`), as codex writes it."""
        aborted = turn_lifecycle.turn_aborted(
            self._turn_id,
            self._setup.root_turn_id,
            started_at=self._started_at,
            completed_at=completed_at,
            duration_ms=duration_ms,
            reason="replaced" if replaced else "interrupted",
        )
        if replaced:
            self._append([aborted])
            return
        notice = turn_lifecycle.turn_aborted_notice(self._turn_id, f"msg_{uuid7()}")
        self._append([notice, aborted])
        self._remember(notice["payload"])
