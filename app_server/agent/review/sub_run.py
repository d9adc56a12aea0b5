"""The reviewer's own conversation inside a review turn, as codex 0.169 runs it: a fresh history
(no earlier messages of the thread, no project docs, no user instructions), the review rubric as
its system prompt, a read-only sandbox with approval `never`, and only the tools that look
(`exec_command` / `write_stdin` or the configured shell tool, `view_image`). It runs as an
ordinary `TurnRunner` turn whose host (`ReviewHost`) relays what codex relays from its review
sub-agent to the thread's clients: the sub-turn's `thread/status/changed` (active) and
`turn/started` (its own turn id, `rootTurnId` the review turn), its user message and tool items
(under the review turn's id); it drops what codex drops: the reviewer's message deltas and its
`item/completed` (the review is shown as `exitedReviewMode` instead), token usage and rate-limit
updates, its `turn/completed`, its return to idle and its unread mark. Its model requests are
tagged as codex tags a review sub-agent's (`x-openai-subagent: review`, the parent thread and
turn in the turn metadata) and open a context window of their own. Nothing of the conversation
is written to the thread's rollout or history (the review turn records the result).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from app_server.agent.instructions import review_instructions
from app_server.agent.token_usage import TokenTotals
from app_server.agent.tools.catalog import shell_tools
from app_server.agent.tools.registry import ToolItem, ToolRegistry
from app_server.agent.tools.view_image import ViewImageTool
from app_server.agent.turn_setup import TurnHost, TurnSetup
from app_server.client_connection import ServerRequestOutcome
from app_server.ids import uuid7
from app_server.rollout.context_windows import ContextWindow
from app_server.rollout.model_history import ModelHistory
from protocol.types import (
    AccountRateLimitsUpdatedNotification,
    ActiveThreadStatus,
    AgentMessageDeltaNotification,
    AgentMessageThreadItem,
    ItemCompletedNotification,
    ReadOnlySandboxPolicy,
    ThreadStatus,
    ThreadTokenUsageUpdatedNotification,
    TurnCompletedNotification,
)
from protocol.wire_model import WireModel

_DROPPED = (
    AgentMessageDeltaNotification,
    ThreadTokenUsageUpdatedNotification,
    AccountRateLimitsUpdatedNotification,
    TurnCompletedNotification,
)


class ReviewHost:
    """The review turn's host as the reviewer's sub-turn sees it (see the module docstring)."""

    def __init__(self, parent: TurnHost, review_turn_id: str, sub_turn_id: str) -> None:
        self._parent = parent
        self._review_turn_id = review_turn_id
        self._sub_turn_id = sub_turn_id

    @property
    def thread_id(self) -> str:
        return self._parent.thread_id

    def publish(self, params: WireModel, *, method: str | None = None) -> None:
        if isinstance(params, _DROPPED):
            return
        if isinstance(params, ItemCompletedNotification) and isinstance(
            params.item, AgentMessageThreadItem
        ):
            return
        if getattr(params, "turn_id", None) == self._sub_turn_id:
            params = params.model_copy(update={"turn_id": self._review_turn_id})
        self._parent.publish(params, method=method)

    def set_status(self, status: ThreadStatus) -> None:
        """Only the sub-turn's start shows (the review turn says when the thread is idle)."""
        if isinstance(status, ActiveThreadStatus):
            self._parent.set_status(status)

    async def ask(self, method: str, params: WireModel) -> ServerRequestOutcome:
        return await self._parent.ask(method, params)

    def record_item(self, turn_id: str, item: ToolItem) -> None:
        """The reviewer's tool items stay out of the thread's rollout."""

    def response_headers_seen(self, headers: Mapping[str, str]) -> None:
        self._parent.response_headers_seen(headers)

    def response_completed(self) -> None:
        """No rate-limit update for the reviewer's responses (codex sends none)."""

    async def turn_result_ready(self, turn_id: str) -> None:
        """The review turn, not the sub-turn, is what the user has to read."""


def review_tools(setup: TurnSetup) -> ToolRegistry:
    """The reviewer's tools: the thread's shell tool and `view_image` (nothing that edits,
    plans, spawns agents or waits)."""
    return ToolRegistry([*shell_tools(setup.settings.config.toml), ViewImageTool()])


def review_setup(parent: TurnSetup, sub_turn_id: str) -> TurnSetup:
    """The sub-turn's setup: the review turn's thread, settings and workspace, but a fresh
    history and token count, the rubric, read-only and no approvals, no rollout."""
    settings = msgspec.structs.replace(
        parent.settings,
        approval_policy="never",
        sandbox=ReadOnlySandboxPolicy(),
        developer_instructions=None,
    )
    return msgspec.structs.replace(
        parent,
        turn_id=sub_turn_id,
        root_turn_id=parent.turn_id,
        settings=settings,
        writer=None,
        history=ModelHistory(window=ContextWindow.initial(uuid7())),
        tokens=TokenTotals(),
        tools=review_tools(parent),
        instructions=review_instructions(),
        first_turn=True,
        output_schema=None,
        agents=None,
        mailbox=None,
        parent_turn_id=parent.turn_id,
        initiating_agent_path=None,
        skills_instructions=None,
        skills=None,
        history_initialization="new",
        subagent_kind="review",
    )
