"""`review/start` (codex 0.169's code review; `app_server/agent/review/`): checks the target,
answers with the review turn as codex shows it before it runs — the turn id, no `rootTurnId`
or start time, one `userMessage` item (its id the turn's, its text the target's hint) — and
then runs the turn (on a busy thread, once the running turn is interrupted). `reviewThreadId`
is the thread given: 0.169 only reviews inline (`delivery` `inline` or absent; anything else
is refused as an unknown variant)."""

from __future__ import annotations

from app_server.agent.review.targets import check_target, user_facing_hint
from app_server.api.reply import Reply
from app_server.client_connection import ClientConnection
from app_server.threads.manager import thread_id_param
from app_server.threads.turns import ThreadTurns
from protocol.types import (
    ReviewStartParams,
    ReviewStartResponse,
    TextUserInput,
    Turn,
    UserMessageThreadItem,
)


class ReviewHandlers:
    """Handler of `review/start`."""

    def __init__(self, turns: ThreadTurns) -> None:
        self._turns = turns

    async def start(self, connection: ClientConnection, params: ReviewStartParams) -> Reply:
        thread_id = thread_id_param(params.thread_id)
        check_target(params.target)
        runner, previous = await self._turns.review(connection, thread_id, params.target)
        hint = TextUserInput(text=user_facing_hint(params.target), text_elements=[])
        turn = Turn(
            id=runner.turn_id,
            root_turn_id=None,
            items=[UserMessageThreadItem(id=runner.turn_id, content=[hint])],
            items_view="notLoaded",
            status="inProgress",
        )
        response = ReviewStartResponse(review_thread_id=thread_id, turn=turn)
        return Reply(response, then=lambda: self._turns.launch_review(thread_id, runner, previous))
