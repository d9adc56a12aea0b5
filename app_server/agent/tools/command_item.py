"""The `commandExecution` item of one shell command, and the output deltas streamed under it.

`CommandItem` owns the item's lifecycle as clients see it: `item/started` once (an approved
command shows it before the approval request), `item/completed` once, and — for a unified exec
command that outlives its call — completion when the process exits, recorded in the rollout under
the turn that started it. `DeltaStream` publishes the process's output as
`item/commandExecution/outputDelta`s of that item while it runs. Kept apart from the flow
(`command_flow`) so the approval request and the runners publish through the same item.
"""

from __future__ import annotations

import codecs
from typing import Any

from app_server.agent.tools import tool_items
from app_server.agent.tools.command_request import CommandRequest, Outcome
from app_server.agent.tools.exec.output import decode_output
from app_server.agent.tools.exec.terminal_results import ExecExit
from app_server.agent.tools.registry import ToolContext, ToolItem
from app_server.rollout import core_items
from app_server.rollout.items import CommandExecutionItem
from protocol import types as wire


class CommandItem:
    """The `commandExecution` item of one call: its core fields and its lifecycle."""

    def __init__(self, request: CommandRequest, context: ToolContext, parsed: list[Any]) -> None:
        self.request = request
        self.context = context
        self.turn_id = context.turn_id
        self.parsed = parsed
        self.started = 0
        self.process_id: int | None = None
        self.source = "agent"
        self.completed: ToolItem | None = None
        self.detached = False
        """The tool call returned while the process runs on (a session)."""
        self.early_exit: ExecExit | None = None
        """An exit reported before the call returned (completed once it is detached)."""

    def core(self, status: str, **fields: Any) -> CommandExecutionItem:
        return core_items.command_execution(
            self.request.call_id,
            argv=self.request.argv,
            cwd=self.request.workdir,
            parsed_cmd=self.parsed,
            source=self.source,
            status=status,
            process_id=None if self.process_id is None else str(self.process_id),
            **fields,
        )

    def start(self) -> None:
        """`item/started`, once (an approved command already showed it before the request)."""
        if not self.started:
            self.started = tool_items.publish_started(self.context, self.core("in_progress"))

    def complete(self, status: str, outcome: Outcome | None = None) -> ToolItem:
        fields: dict[str, Any] = {}
        if outcome is not None:
            fields = {
                "aggregated_output": outcome.output,
                "exit_code": outcome.exit_code,
                "duration_seconds": outcome.duration_s,
            }
        core = self.core(status, **fields)
        if self.process_id is not None:  # no more stdin for this process
            self.context.workspace.command_items.pop(self.process_id, None)
        formatted = outcome.output if outcome is not None else ""
        legacy = core_items.legacy_exec_end(core, formatted, formatted)
        self.completed = tool_items.publish_completed(self.context, core, self.started, legacy)
        return self.completed

    def status_for(self, exit_code: int | None) -> str:
        return "completed" if exit_code == 0 else "failed"

    def exited(self, done: ExecExit) -> None:
        """The process ended; a detached item completes now and is recorded under its turn."""
        if not self.detached:
            self.early_exit = done
            return
        if self.completed is None:
            output = decode_output(done.aggregated_output)
            outcome = Outcome(done.exit_code, output, done.duration_s)
            completed = self.complete(self.status_for(done.exit_code), outcome)
            self.context.host.record_item(self.turn_id, completed)

    def detach(self) -> None:
        """The call returns while the process runs on as a session."""
        self.detached = True
        if self.early_exit is not None:
            self.exited(self.early_exit)


class DeltaStream:
    """Decodes a process's output incrementally (a character split across reads stays whole)
    and publishes it as `outputDelta`s of the command's item, for as long as it runs."""

    def __init__(self, item: CommandItem) -> None:
        self._item = item
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def __call__(self, chunk: bytes) -> None:
        text = self._decoder.decode(chunk)
        if text:
            context = self._item.context
            context.publish(
                wire.CommandExecutionOutputDeltaNotification(
                    thread_id=context.thread_id,
                    turn_id=self._item.turn_id,
                    item_id=self._item.request.call_id,
                    delta=text,
                ),
            )
