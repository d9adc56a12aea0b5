"""One turn of a thread, from its user input to `turn/completed` (AGENT_LOOP.md §1).

`TurnRunner.run` is the whole state machine: persist and announce the input, then sample the
model again and again — streaming its output to clients, persisting every finished item, running
tool calls — until a response asks for nothing more. Steered input (`turn/steer`, or
`turn/start` on an active turn) drops the response being streamed at once, as codex 0.169 does:
an item half streamed is never completed (no `item/completed`, nothing recorded, absent from the
next request), the items that finished before stay, tool calls that finished are still run (and
a running tool finishes), then the input is recorded and the model is sampled again.
`interrupt()` cancels the turn's task, which stops the HTTP stream at once and records the
interruption. Retryable failures are retried with backoff, each retry announced with an `error`
notification carrying `willRetry` (one sampling step, retries included: `turn_sampling`).

Persistence follows codex (STORAGE.md §3.5): lines are appended as things finish, flushed when
the input is recorded, and synced at the end of the turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

from app_server.agent.compaction import BEFORE_TURN, DURING_TURN, REQUESTED
from app_server.agent.model_input import model_input_content
from app_server.agent.providers.base import ProviderError
from app_server.agent.review.review_turn import ReviewTurn
from app_server.agent.step_effects import StepEffects
from app_server.agent.tools.registry import ToolCall
from app_server.agent.turn_compaction import TurnCompaction
from app_server.agent.turn_recorder import TurnRecorder
from app_server.agent.turn_sampling import TurnSampling, turn_error
from app_server.agent.turn_setup import PendingInput, TurnFailed, TurnHost, TurnSetup
from app_server.agent.turn_tool_calls import TurnToolCalls
from app_server.agent.turn_user_shells import TurnUserShells
from app_server.agent.user_shell import UserShellCommand, run_user_shell
from app_server.ids import uuid7
from app_server.notification import now_ms
from app_server.skill_mentions import selected_skills, skill_message
from protocol import types as wire
from protocol.types import (
    ActiveThreadStatus,
    AgentMessageThreadItem,
    IdleThreadStatus,
    ItemCompletedNotification,
    ItemStartedNotification,
    SystemErrorThreadStatus,
    Turn,
    TurnCompletedNotification,
    TurnError,
    TurnStartedNotification,
    UserMessageThreadItem,
)

log = logging.getLogger(__name__)


TurnKind = Literal["turn", "compact", "shell", "review"]


class TurnAborted(Exception):
    """The client answered an approval with `cancel`: the turn ends as interrupted."""


class TurnRunner:
    """Runs one turn (see the module docstring)."""

    def __init__(
        self,
        host: TurnHost,
        setup: TurnSetup,
        first_input: PendingInput | None,
        *,
        kind: TurnKind = "turn",
        shell: UserShellCommand | None = None,
        review: ReviewTurn | None = None,
    ) -> None:
        self.host = host
        self.setup = setup
        self.turn_id = setup.turn_id
        self.thread_id = host.thread_id
        self.kind: TurnKind = kind
        """`turn`, `compact` for a turn that only compacts the context, `shell` for one that
        runs the user's shell command (neither samples the model nor is steerable), `review`
        for a code review (`app_server/agent/review/`: the reviewer is a sub-turn of its own)."""
        self._shell = shell
        self._review = review
        self._review_answer: AgentMessageThreadItem | None = None
        self._pending: list[PendingInput] = [first_input] if first_input is not None else []
        self._steer = asyncio.Event()
        self._interrupted = False
        self._replaced = False
        self._started_ms = now_ms()
        self._recorder = TurnRecorder(setup, self.thread_id, self._started_ms // 1000)
        self._tool_calls = TurnToolCalls(host, setup, self._recorder, self.turn_id, self._steer)
        self._effects = StepEffects(host, setup, self._recorder, self._tool_calls)
        self._sampling = TurnSampling(
            host, setup, self._effects, self._steer, started_ms=self._started_ms
        )
        self._compaction = TurnCompaction(
            host,
            setup,
            self._recorder,
            request_context=self._sampling.request_context,
            retrying=self._sampling.retrying,
            on_usage=self._effects.usage,
        )
        self._user_shells = TurnUserShells(self._tool_calls.context, self._recorder)
        self._ending = False
        """Set when the turn starts ending: no user shell command joins it any more."""
        self._running = False
        self.task: asyncio.Task[None] | None = None
        self.finished = False
        """Set once the turn ended (its task is done)."""
        self.outcome: str = "inProgress"
        """How the turn ended: `completed`, `failed` or `interrupted`."""

    # -- control from other requests ---------------------------------------------------------
    def start(self) -> asyncio.Task[None]:
        self.task = asyncio.create_task(self.run(), name=f"turn {self.turn_id}")
        return self.task

    def add_input(self, pending: PendingInput) -> None:
        """Steer: the response being streamed is dropped at once (its half-streamed item with
        it) and the input joins before the next sampling; a running tool finishes first."""
        self._pending.append(pending)
        self._steer.set()
        self._sampling.cancel_stream()

    @property
    def accepts_user_shell(self) -> bool:
        """Whether a user's shell command can still run inside this turn: a model turn or
        another user command's turn, until it starts ending (a compaction runs alone)."""
        return self.kind != "compact" and not self._ending and not self.finished

    def run_user_shell(self, shell: UserShellCommand) -> None:
        """`thread/shellCommand` while this turn runs: the command runs inside it, and the model
        reads its record at the next sampling step (`turn_user_shells`)."""
        self._user_shells.start(shell)

    def interrupt(self, *, replaced: bool = False) -> None:
        """Stop the turn now (`turn/interrupt`; `replaced`: a review started on the thread); a
        running command is killed with it. A turn whose task has not begun yet stops as soon as
        it begins (cancelling a task before its first step would skip `run` and with it the
        turn's `turn/completed`)."""
        self._interrupted = True
        self._replaced = replaced
        if self.task is not None and self._running:
            self.task.cancel()

    @property
    def last_agent_text(self) -> str | None:
        """The turn's last agent message so far (its final answer once completed)."""
        last = self._effects.last_agent_message
        return last.text if last is not None else None

    @property
    def sub_turn_id(self) -> str | None:
        """A review's reviewer sub-turn id (announced in `turn/started`, so clients may name it
        in `turn/interrupt`); None for other turns."""
        return self._review.sub_turn_id if self._review is not None else None

    @property
    def started_at(self) -> int:
        return self._started_ms // 1000

    def wire_turn(self, status: str = "inProgress") -> Turn:
        return Turn(
            id=self.turn_id,
            root_turn_id=self.setup.root_turn_id,
            items=[],
            items_view="notLoaded",
            status=status,  # type: ignore[arg-type]
            started_at=self.started_at,
        )

    # -- the turn ------------------------------------------------------------------------------
    async def run(self) -> None:
        self._running = True
        try:
            await self._run()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._interrupted and task is not None:
                task.uncancel()
            await asyncio.shield(self._finish_interrupted())
            if not self._interrupted:
                raise
        except TurnAborted:  # an approval answered `cancel`
            await self._finish_interrupted()
        except TurnFailed as failure:
            await self._finish_failed(failure.error)
        except ProviderError as error:
            await self._finish_failed(turn_error(error))
        except Exception as exc:  # a bug or an I/O failure must still end the turn cleanly
            log.exception("turn %s failed unexpectedly", self.turn_id)
            await self._finish_failed(
                TurnError(message=f"internal error: {exc}", codex_error_info="other")
            )

    async def _run(self) -> None:
        setup = self.setup
        if self._review is not None:  # the reviewer's sub-turn announces the start
            self._recorder.shell_opening()
            if self._interrupted:
                raise asyncio.CancelledError
            self._review_answer = await self._review.run(
                self.host, setup, self._recorder, self._tool_calls.context(), TurnRunner
            )
            await self._finish_completed()
            return
        self.host.set_status(ActiveThreadStatus(active_flags=[]))
        self.host.publish(TurnStartedNotification(thread_id=self.thread_id, turn=self.wire_turn()))
        setup.tokens.start_turn()
        if self._shell is not None:
            self._recorder.shell_opening()
            result = await run_user_shell(self._tool_calls.context(), self._shell)
            self._recorder.user_shell(result.item, result.model_item)
            await self._user_shells.settle()  # another command run inside this turn
            self._user_shells.record()
            self._ending = True
            await self._finish_completed()
            return
        self._recorder.opening()
        if self._interrupted:  # interrupted before the task began
            raise asyncio.CancelledError
        if self.kind == "compact":
            await self._recorder.flush()
            await self._compaction.run(self._sampling.model(), REQUESTED)
            await self._finish_completed()
            return
        if setup.history.items and self._compaction.due():
            await self._compaction.run(self._sampling.model(), BEFORE_TURN)
        await self._consume_input()
        await self._recorder.flush()
        await setup.tools.prepare()  # the thread's MCP servers have settled
        provider = self._sampling.model()
        for step_number in range(setup.max_steps):
            self._deliver_mail()
            if step_number and self._compaction.due():
                await self._compaction.run(provider, DURING_TURN)
            step = await self._sampling.sample(provider, self._compaction)
            # Every call the model made gets its output before anything else joins history
            # (an unanswered call would make the next request invalid), steered input included.
            for call in step.tool_calls:
                await self._run_tool(call)
            if step.usage is not None:  # reported once the calls have their outputs, as codex
                self._effects.report_usage(step.usage)
            if not step.tool_calls and not self._pending:
                await self._user_shells.settle()  # a user's command still running joins first
            if self._pending or self._user_shells.has_records:
                self._user_shells.record()
                await self._consume_input()
                continue
            if not step.tool_calls:
                self._ending = True
                await self._finish_completed()
                return
        raise TurnFailed(
            TurnError(
                message=f"turn stopped after {setup.max_steps} sampling steps (max_sampling_steps)",
                codex_error_info="other",
            )
        )

    async def _consume_input(self) -> None:
        """Record and announce every queued user input, in order."""
        while self._pending:
            pending = self._pending.pop(0)
            if pending.message is not None:
                self._recorder.inter_agent(pending.message)
            else:
                await self._user_message(pending)
        self._steer.clear()

    def _deliver_mail(self) -> None:
        """Messages other agents sent join history before the model is sampled again."""
        if self.setup.mailbox:
            for message in self.setup.mailbox.take():
                self._recorder.inter_agent(message)

    async def _user_message(self, pending: PendingInput) -> None:
        item_id = uuid7()
        started = now_ms()
        item = UserMessageThreadItem(
            id=item_id, content=pending.inputs, client_id=pending.client_id, started_at_ms=started
        )
        self.host.publish(
            ItemStartedNotification(
                thread_id=self.thread_id, turn_id=self.turn_id, started_at_ms=started, item=item
            ),
        )
        cwd = self.setup.settings.cwd
        content = await asyncio.to_thread(
            lambda: [part for value in pending.inputs for part in model_input_content(value, cwd)]
        )
        model_item = {"type": "message", "id": f"msg_{uuid7()}", "role": "user", "content": content}
        completed = now_ms()
        item = item.model_copy(update={"completed_at_ms": completed})
        self._recorder.finished(model_item, item, started, completed)
        self.host.publish(
            ItemCompletedNotification(
                thread_id=self.thread_id, turn_id=self.turn_id, completed_at_ms=completed, item=item
            ),
        )
        await self._selected_skills(pending)

    async def _selected_skills(self, pending: PendingInput) -> None:
        """Each skill the input selects (`$name`, a skill item) joins history as its own user
        message after the user's, as codex 0.169 does; the client sees no item for it."""
        skills = selected_skills(pending.inputs, self.setup.skills)
        if not skills:
            return
        messages = await asyncio.to_thread(lambda: [skill_message(skill) for skill in skills])
        for message in messages:
            if message is not None:
                message["id"] = f"msg_{uuid7()}"
                self._recorder.finished(message, None, now_ms(), now_ms())

    # -- tool calls ----------------------------------------------------------------------------
    async def _run_tool(self, call: ToolCall) -> None:
        if await self._tool_calls.run(call):
            raise TurnAborted

    # -- endings -------------------------------------------------------------------------------
    def _duration(self) -> tuple[int, int]:
        completed_ms = now_ms()
        return completed_ms // 1000, completed_ms - self._started_ms

    async def _finish_completed(self) -> None:
        completed_at, duration_ms = self._duration()
        last = self._effects.last_agent_message
        self._recorder.completed(last.text if last is not None else None, completed_at, duration_ms)
        if self._review_answer is not None:  # codex records no final message for a review
            last = self._review_answer
        await self._recorder.sync()
        self.outcome = "completed"
        turn = self.wire_turn("completed").model_copy(
            update={
                "items": [last] if last is not None else [],
                "items_view": "summary" if self.kind in ("turn", "review") else "notLoaded",
                "completed_at": completed_at,
                "duration_ms": duration_ms,
            }
        )
        if self.kind in ("turn", "review"):
            await self.host.turn_result_ready(self.turn_id)
        self.host.set_status(IdleThreadStatus())
        self._turn_completed(turn)

    async def _finish_failed(self, error: TurnError) -> None:
        self._ending = True
        await self._user_shells.stop()
        self._tool_calls.answer_open_calls()
        completed_at, duration_ms = self._duration()
        await self._record_ending(lambda: self._recorder.failed(error, completed_at, duration_ms))
        self.outcome = "failed"
        self.host.set_status(SystemErrorThreadStatus())
        self.host.publish(
            wire.ErrorNotification(
                thread_id=self.thread_id, turn_id=self.turn_id, will_retry=False, error=error
            ),
        )
        self._turn_completed(
            self.wire_turn("failed").model_copy(
                update={"error": error, "completed_at": completed_at, "duration_ms": duration_ms}
            )
        )

    async def _record_ending(self, record: Callable[[], None]) -> None:
        """Record how the turn ended; a failure to record is logged, never left to stop the
        turn from ending (clients would wait for a `turn/completed` that never comes)."""
        try:
            record()
            await self._recorder.sync()
        except Exception:
            log.exception("recording the end of turn %s failed", self.turn_id)

    async def _finish_interrupted(self) -> None:
        self._ending = True
        await self._user_shells.stop()
        self._tool_calls.answer_open_calls()
        completed_at, duration_ms = self._duration()
        await self._record_ending(
            lambda: self._recorder.interrupted(completed_at, duration_ms, replaced=self._replaced)
        )
        self.outcome = "interrupted"
        self.host.set_status(IdleThreadStatus())
        self._turn_completed(
            self.wire_turn("interrupted").model_copy(
                update={"completed_at": completed_at, "duration_ms": duration_ms}
            )
        )

    def _turn_completed(self, turn: Turn) -> None:
        self.host.publish(TurnCompletedNotification(thread_id=self.thread_id, turn=turn))
