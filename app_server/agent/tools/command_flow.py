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
"""

from __future__ import annotations

import asyncio
import codecs
import os
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from msgspec import Struct

from app_server.agent import approvals
from app_server.agent.tools import tool_items
from app_server.agent.tools.exec.output import decode_output
from app_server.agent.tools.exec.parse_command import (
    parse_command_actions,
    to_command_actions,
    unknown_action,
)
from app_server.agent.tools.exec.process import display_command, run_process
from app_server.agent.tools.exec.sandbox import SandboxSpec, sandbox_argv
from app_server.agent.tools.exec.terminal_errors import BackgroundTerminalError
from app_server.agent.tools.exec.terminal_results import ExecChunk, ExecExit
from app_server.agent.tools.exec.unified_exec_env import UNIFIED_EXEC_ENV
from app_server.agent.tools.registry import ToolContext, ToolItem, ToolOutput, aborted_output
from app_server.rollout import core_items
from app_server.rollout.items import CommandExecutionItem
from protocol.types import (
    CommandExecutionOutputDeltaNotification,
)

SHELL_OPERATORS = frozenset({"&&", "||", "|", ";", "&", ">", ">>", "<", "(", ")"})

DEFAULT_ONESHOT_TIMEOUT_MS = 10_000
"""`timeout_ms` of the `shell` / `shell_command` tools when the model gives none (codex's)."""
TIMEOUT_EXIT_CODE = 124
"""Exit code reported for a one-shot command killed at its timeout (codex's, like timeout(1))."""

REJECTED = 'exec_command failed: CreateProcess {{ message: "Rejected(\\"{reason}\\")" }}'
"""What the model reads for a command that did not run (0.169's text)."""


class CommandRequest(Struct, frozen=True):
    """A command as a shell tool asked for it."""

    call_id: str
    argv: list[str]
    """What runs (before sandboxing): `[bash, -lc, script]` or the model's own argv."""
    script: str | None
    """The shell script inside `argv`, when there is one (for `parsed_cmd` and prefix rules)."""
    workdir: str
    escalate: bool = False
    justification: str | None = None
    prefix_rule: list[str] | None = None
    mode: Literal["session", "oneshot"] = "session"
    """`session`: unified exec (yield, then poll); `oneshot`: run to completion or timeout."""
    yield_ms: int | None = None
    timeout_ms: int | None = None
    tty: bool = False
    max_output_tokens: int | None = None


class Outcome(Struct):
    """How the command ended (or that it keeps running as a session)."""

    exit_code: int | None
    output: str
    """All output so far (for the item)."""
    duration_s: float
    chunk: ExecChunk | None = None
    timed_out: bool = False


class _SpawnError(BackgroundTerminalError):
    def __init__(self, message: str) -> None:
        super().__init__(f"Failed to spawn the command: {message}")


def command_words(request: CommandRequest) -> list[str]:
    """The script's words (else the argv): the proposed execpolicy prefix comes from them."""
    if request.script is None:
        return list(request.argv)
    try:
        return shlex.split(request.script)
    except ValueError:
        return [request.script]


def approvable_words(request: CommandRequest) -> list[str]:
    """The words an approved prefix may match: only a single plain command qualifies, so
    approving `touch x` never approves `touch x && rm -rf ~` (empty otherwise)."""
    if request.script is None:
        return list(request.argv)
    return approvals.simple_command_words(request.script) or []


def first_command(words: list[str]) -> list[str]:
    """The words of the first simple command (a proposed execpolicy prefix)."""
    head: list[str] = []
    for word in words:
        if word in SHELL_OPERATORS:
            break
        head.append(word)
    return head


def command_env(context: ToolContext, *, network_disabled: bool) -> dict[str, str]:
    """The child's environment: the server's (codex's default policy inherits everything), the
    non-interactive overrides of unified exec, and codex's markers."""
    env = {**os.environ, **UNIFIED_EXEC_ENV, "CODEX_THREAD_ID": context.thread_id}
    if network_disabled:
        env["CODEX_SANDBOX_NETWORK_DISABLED"] = "1"
    return env


class _CommandItem:
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
        self.item = _CommandItem(request, context, parsed)

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
        answer = await _ask(item, self.request, context, self.words, self.display)
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
                outcome = await _run_session(item, argv, env)
            else:
                outcome = await _run_oneshot(item, argv, env)
        except BackgroundTerminalError as error:
            completed = item.complete("failed")
            return ToolOutput(f"exec_command failed: {error}", success=False, item=completed)
        if outcome.chunk is not None and outcome.chunk.session_id is not None:
            item.detach()  # the item completes when the process exits
            return ToolOutput(self.render(outcome))
        completed = item.complete(item.status_for(outcome.exit_code), outcome)
        return ToolOutput(self.render(outcome), success=outcome.exit_code == 0, item=completed)


async def _ask(
    item: _CommandItem,
    request: CommandRequest,
    context: ToolContext,
    words: list[str],
    display: str,
) -> approvals.Answer:
    approvals.announce_waiting(context.host)
    item.start()
    amendment = request.prefix_rule or first_command(words) or None
    decisions: list[Any] = ["accept"]
    if amendment:
        decisions.append(
            {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": list(amendment)}}
        )
    decisions.append("cancel")
    # Imported when a command first needs approval: it builds its model (~20 wire types).
    from app_server.agent.tools.approval_params import CommandApprovalParams

    params = CommandApprovalParams.model_validate(
        {
            "kind": "command",
            "threadId": context.thread_id,
            "turnId": context.turn_id,
            "itemId": request.call_id,
            "startedAtMs": item.started,
            "environmentId": "local",
            "command": display,
            "cwd": request.workdir,
            "commandActions": to_command_actions(item.parsed, request.workdir),
            "proposedExecpolicyAmendment": amendment,
            "availableDecisions": decisions,
            "reason": request.justification if request.escalate else None,
        }
    )
    return await approvals.ask(context.host, "item/commandExecution/requestApproval", params)


class _DeltaStream:
    """Decodes a process's output incrementally (a character split across reads stays whole)
    and publishes it as `outputDelta`s of the command's item, for as long as it runs."""

    def __init__(self, item: _CommandItem) -> None:
        self._item = item
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def __call__(self, chunk: bytes) -> None:
        text = self._decoder.decode(chunk)
        if text:
            context = self._item.context
            context.publish(
                CommandExecutionOutputDeltaNotification(
                    thread_id=context.thread_id,
                    turn_id=self._item.turn_id,
                    item_id=self._item.request.call_id,
                    delta=text,
                ),
            )


async def _run_session(item: _CommandItem, argv: list[str], env: dict[str, str]) -> Outcome:
    request, context = item.request, item.context
    terminals = context.workspace.terminals
    item.process_id = terminals.reserve_process_id()
    context.workspace.command_items[item.process_id] = request.call_id
    item.start()
    chunk = await terminals.start(
        argv,
        request.workdir,
        env,
        yield_time_ms=request.yield_ms,
        tty=request.tty,
        on_output=_DeltaStream(item),
        on_exit=item.exited,
        process_id=item.process_id,
        command=display_command(request.argv),
    )
    return Outcome(chunk.exit_code, decode_output(chunk.output), chunk.wall_time_s, chunk)


async def _run_oneshot(item: _CommandItem, argv: list[str], env: dict[str, str]) -> Outcome:
    request = item.request
    item.start()
    timeout = (request.timeout_ms or DEFAULT_ONESHOT_TIMEOUT_MS) / 1000
    try:
        result = await run_process(
            argv, cwd=request.workdir, env=env, on_output=_DeltaStream(item), timeout_s=timeout
        )
    except OSError as error:
        raise _SpawnError(str(error)) from None
    exit_code = TIMEOUT_EXIT_CODE if result.timed_out else result.exit_code
    return Outcome(
        exit_code, decode_output(result.output), result.duration_s, None, result.timed_out
    )
