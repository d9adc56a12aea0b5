"""One shell command from the model, from policy to output (AGENT_LOOP.md §5.1, §5.3).

The flow every shell tool shares: decide (run / ask / refuse, `approvals.command_verdict`), show
the `commandExecution` item, ask the client when needed (0.169's order: status
`waitingOnApproval` → `item/started` → request → `serverRequest/resolved` → …), run the command
in the thread's sandbox — or unsandboxed once the client approved it, as 0.169 does — stream its
output as `item/commandExecution/outputDelta`, and complete the item.

Unified exec (`exec_command`) commands that outlive their yield keep running as a session: the
model polls them with `write_stdin`, deltas keep flowing under the original item, and the item
completes — and is recorded in the rollout under the turn that started it — when the process
exits, even after that turn ended (as 0.169 does). A command still running when its turn is
interrupted is killed with its whole process group, which 0.169 does not do.

This module holds the decisions; the pieces live beside it: the request and outcome
(`command_request`), the item and its deltas (`command_item`), the approval request
(`command_approval`) and the two ways a command runs (`command_runners`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from app_server.agent import approvals
from app_server.agent.tools.command_approval import (
    approvable_words,
    ask_approval,
    command_words,
)
from app_server.agent.tools.command_item import CommandItem
from app_server.agent.tools.command_request import CommandRequest, Outcome
from app_server.agent.tools.command_runners import command_env, run_oneshot, run_session
from app_server.agent.tools.exec.parse_command import parse_command_actions, unknown_action
from app_server.agent.tools.exec.process import display_command
from app_server.agent.tools.exec.sandbox import SandboxSpec, sandbox_argv
from app_server.agent.tools.exec.terminal_errors import BackgroundTerminalError
from app_server.agent.tools.registry import ToolContext, ToolOutput, aborted_output

REJECTED = 'exec_command failed: CreateProcess {{ message: "Rejected(\\"{reason}\\")" }}'
"""What the model reads for a command that did not run (0.169's text)."""


async def run_command(
    request: CommandRequest,
    context: ToolContext,
    render: Callable[[Outcome], str],
) -> ToolOutput:
    """The whole flow (module docstring); `render` writes the model's text for an outcome."""
    return await _CommandRun(request, context, render).run()


class _CommandRun:
    """One pass through the flow, for one call."""

    def __init__(
        self, request: CommandRequest, context: ToolContext, render: Callable[[Outcome], str]
    ) -> None:
        self.request = request
        self.context = context
        self.render = render
        self.clock = time.monotonic()
        self.spec = SandboxSpec.from_policy(context.settings.sandbox, Path(context.cwd))
        self.display = display_command(request.argv)
        self.words = command_words(request)
        parsed = (
            parse_command_actions(request.script)
            if request.script is not None
            else [unknown_action(self.display)]
        )
        self.item = CommandItem(request, context, parsed)

    async def run(self) -> ToolOutput:
        workspace = self.context.workspace
        preapproved = workspace.approvals.command_approved(
            approvable_words(self.request), self.display
        )
        verdict = (
            "run"
            if preapproved
            else approvals.command_verdict(
                self.context.settings.approval_policy,
                sandbox_mode=self.spec.mode,
                sandboxed=workspace.bwrap is not None,
                escalation=self.request.escalate,
                argv=self.request.argv,
            )
        )
        if verdict == "refuse":
            reason = (
                "escalated permissions are not allowed by the approval policy"
                if self.request.escalate
                else "commands cannot be sandboxed here and the approval policy is never"
            )
            return ToolOutput(REJECTED.format(reason=reason), success=False)
        try:
            sandboxed = verdict == "run" and not preapproved and self.spec.enforced
            if verdict == "ask":
                refused = await self._ask()
                if refused is not None:
                    return refused
            return await self._execute(sandboxed)
        except asyncio.CancelledError:
            # `turn/interrupt` (the process group, if any, is already killed): close the item
            # for clients and let the turn record it with the call's `aborted` output.
            if self.item.started and self.item.completed is None:
                self.context.aborted_item = self.item.complete("failed")
            raise

    async def _ask(self) -> ToolOutput | None:
        """Ask the client; the refusal to return, or None to run (unsandboxed, as 0.169)."""
        context, item = self.context, self.item
        answer = await ask_approval(item, self.request, context, self.words, self.display)
        if not answer.approved:
            cancel = answer.decision is approvals.Decision.CANCEL
            completed = item.complete("failed" if answer.request_failed else "declined")
            approvals.announce_running(context.host)
            reason = "approval request failed" if answer.request_failed else "rejected by user"
            text = (
                aborted_output(time.monotonic() - self.clock)
                if cancel
                else REJECTED.format(reason=reason)
            )
            return ToolOutput(text, success=False, item=completed, abort_turn=cancel)
        approvals.announce_running(context.host)
        context.workspace.approvals.remember_command(answer, self.display)
        return None

    async def _execute(self, sandboxed: bool) -> ToolOutput:
        request, item, spec = self.request, self.item, self.spec
        bwrap = self.context.workspace.bwrap
        argv = list(request.argv)
        if sandboxed and bwrap is not None:
            argv = sandbox_argv(spec, argv, bwrap, chdir=Path(request.workdir))
        env = command_env(self.context, network_disabled=sandboxed and not spec.network)
        session = request.mode == "session"
        item.source = "unified_exec_startup" if session else "agent"
        try:
            if session:
                outcome = await run_session(item, argv, env)
            else:
                outcome = await run_oneshot(item, argv, env)
        except BackgroundTerminalError as error:
            completed = item.complete("failed")
            return ToolOutput(f"exec_command failed: {error}", success=False, item=completed)
        if outcome.chunk is not None and outcome.chunk.session_id is not None:
            item.detach()  # the item completes when the process exits
            return ToolOutput(self.render(outcome))
        completed = item.complete(item.status_for(outcome.exit_code), outcome)
        return ToolOutput(self.render(outcome), success=outcome.exit_code == 0, item=completed)
