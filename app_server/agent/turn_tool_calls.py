"""The tool calls of one turn: each runs with its context and its result is recorded; a turn
that ends early still answers the calls it recorded.

History must stay a valid request: every `function_call` the model made is followed by its
output before anything else joins (AGENT_LOOP.md §1). When a turn is interrupted — or fails —
mid-call, the calls left open get codex's `aborted by user` output, and a command that was
running has its item recorded too.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from app_server.agent.tools.patch import TurnDiffTracker
from app_server.agent.tools.registry import ToolCall, ToolContext, aborted_output
from app_server.agent.turn_recorder import TurnRecorder
from app_server.agent.turn_setup import TurnHost, TurnSetup


class TurnToolCalls:
    """Runs and records the tool calls of one turn (see the module docstring)."""

    def __init__(
        self,
        host: TurnHost,
        setup: TurnSetup,
        recorder: TurnRecorder,
        turn_id: str,
        input_arrived: asyncio.Event,
    ) -> None:
        self._host = host
        self._setup = setup
        self._recorder = recorder
        self._turn_id = turn_id
        self._input_arrived = input_arrived
        self._turn_diff = TurnDiffTracker(Path(setup.settings.cwd))
        self._unanswered: list[ToolCall] = []
        """Calls recorded in history whose output is not recorded yet, in order."""
        self._running: ToolContext | None = None
        self._started = 0.0

    def recorded(self, call: ToolCall) -> None:
        """The model's call is in history; its output is owed."""
        self._unanswered.append(call)

    async def run(self, call: ToolCall) -> bool:
        """Run a call and record its result; True when the turn must end (approval `cancel`)."""
        context = self.context()
        self._running, self._started = context, time.monotonic()
        output = await self._setup.tools.run(call, context)
        self._running = None
        self._unanswered.remove(call)
        self._recorder.tool_finished(call, output.output, output.item)
        return output.abort_turn

    def answer_open_calls(self) -> None:
        """Record `aborted by user` for every call left open (calls run in order, so one still
        running is the first), with the running command's item if it closed one."""
        running, self._running = self._running, None
        for call in self._unanswered:
            item = running.aborted_item if running is not None else None
            elapsed = time.monotonic() - self._started if running is not None else 0.0
            self._recorder.tool_finished(call, aborted_output(elapsed), item)
            running = None
        self._unanswered.clear()

    def context(self) -> ToolContext:
        """What a tool (or the user's shell command) running in this turn may use."""
        return ToolContext(
            thread_id=self._host.thread_id,
            turn_id=self._turn_id,
            settings=self._setup.settings,
            host=self._host,
            workspace=self._setup.workspace,
            turn_diff=self._turn_diff,
            input_arrived=self._input_arrived,
            agents=self._setup.agents,
            root_turn_id=self._setup.root_turn_id,
            model_history=self._setup.model_history,
        )
