"""A review turn (`review/start`), as codex 0.169 runs it inline on the thread.

1. `enteredReviewMode` (its `review` the target's hint) is shown and recorded.
2. The reviewer runs as a sub-turn of its own (`sub_run`): the target's prompt as its user
   message, the rubric as its system prompt; clients see what codex relays of it.
3. Its last message is parsed as the review (`rollout.review_output`). The thread's history then
   gets the `<user_action>` message carrying the review, `exitedReviewMode` is shown and
   recorded with the parsed output, and the rendered review becomes the turn's agent message
   (shown, recorded, and in history as the assistant's answer).

A reviewer that ends without a message (failed, or interrupted with the turn) leaves codex's
"interrupted" records instead: no output, the interrupted `<user_action>`, and the answer
"Review was interrupted. …". The thread's own context (its permissions and environment
messages) is not sent by a review: the next ordinary turn still opens with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from app_server.agent.review.messages import (
    INTERRUPTED_ANSWER,
    INTERRUPTED_TEMPLATE,
    review_record,
)
from app_server.agent.review.sub_run import ReviewHost, review_setup
from app_server.agent.review.targets import ReviewRequest
from app_server.agent.tools import tool_items
from app_server.agent.tools.registry import ToolContext
from app_server.agent.turn_recorder import TurnRecorder
from app_server.agent.turn_setup import PendingInput, TurnHost, TurnSetup
from app_server.ids import uuid7
from app_server.notification import now_ms
from app_server.rollout.review_items import (
    entered_review,
    exited_review,
    legacy_entered_review,
    legacy_exited_review,
)
from app_server.rollout.review_output import ReviewOutput, parse_review_output, render_review_text
from protocol.types import (
    AgentMessageThreadItem,
    ItemCompletedNotification,
    ItemStartedNotification,
    TextUserInput,
)


class SubTurn(Protocol):
    """What the review needs of the reviewer's sub-turn (a `TurnRunner`)."""

    outcome: str

    @property
    def last_agent_text(self) -> str | None: ...

    async def run(self) -> None: ...


SubTurnFactory = Callable[[TurnHost, TurnSetup, PendingInput], SubTurn]
"""Makes the sub-turn (the turn runner passes its own class: no import cycle)."""


class ReviewTurn:
    """Runs one review inside its turn (see the module docstring)."""

    def __init__(self, request: ReviewRequest) -> None:
        self.request = request
        self.sub_turn_id = uuid7()
        """The reviewer's sub-turn (what codex's `turn/started` of a review names)."""

    async def run(
        self,
        host: TurnHost,
        setup: TurnSetup,
        recorder: TurnRecorder,
        context: ToolContext,
        make_sub_turn: SubTurnFactory,
    ) -> AgentMessageThreadItem:
        """The review from start to finish; returns the turn's final agent message."""
        core = entered_review(uuid7(), self.request.target, self.request.hint)
        started = tool_items.publish_started(context, core)
        legacy = legacy_entered_review(core)
        host.record_item(
            setup.turn_id, tool_items.publish_completed(context, core, started, legacy)
        )
        sub_turn_id = self.sub_turn_id
        prompt = TextUserInput(text=self.request.prompt, text_elements=[])
        sub = make_sub_turn(
            ReviewHost(host, setup.turn_id, sub_turn_id),
            review_setup(setup, sub_turn_id),
            PendingInput([prompt]),
        )
        try:
            await sub.run()
        except asyncio.CancelledError:
            self._exit(setup, recorder, context, None)
            raise
        text = sub.last_agent_text if sub.outcome == "completed" else None
        output = parse_review_output(text) if text is not None else None
        return self._exit(setup, recorder, context, output)

    def _exit(
        self,
        setup: TurnSetup,
        recorder: TurnRecorder,
        context: ToolContext,
        output: ReviewOutput | None,
    ) -> AgentMessageThreadItem:
        """The review's records, in codex's order: the `<user_action>` message, the
        `exitedReviewMode` item, the rendered review as the assistant's message."""
        record = review_record(output) if output is not None else INTERRUPTED_TEMPLATE
        now = now_ms()
        recorder.finished(_message("user", "input_text", record, f"msg_{uuid7()}"), None, now, now)
        exited = exited_review(uuid7(), output)
        started = tool_items.publish_started(context, exited)
        legacy = legacy_exited_review(exited)
        context.host.record_item(
            setup.turn_id, tool_items.publish_completed(context, exited, started, legacy)
        )
        answer = render_review_text(output) if output is not None else INTERRUPTED_ANSWER
        message_id = f"msg_{uuid7()}"
        model_item = _message("assistant", "output_text", answer, message_id)
        started = now_ms()
        item = AgentMessageThreadItem(id=message_id, text=answer, started_at_ms=started)
        context.publish(
            ItemStartedNotification(
                thread_id=context.thread_id, turn_id=setup.turn_id, started_at_ms=started, item=item
            )
        )
        completed = now_ms()
        item = item.model_copy(update={"completed_at_ms": completed})
        recorder.finished(model_item, item, started, completed)
        context.publish(
            ItemCompletedNotification(
                thread_id=context.thread_id,
                turn_id=setup.turn_id,
                completed_at_ms=completed,
                item=item,
            )
        )
        return item


def _message(role: str, kind: str, text: str, message_id: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": message_id,
        "role": role,
        "content": [{"type": kind, "text": text}],
    }
