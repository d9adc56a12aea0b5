"""Asking the client whether a model's shell command may run (AGENT_LOOP.md §5.3).

`ask_approval` sends `item/commandExecution/requestApproval` as 0.169 does — status
`waitingOnApproval`, then `item/started`, then the request with the decisions offered (accept, an
execpolicy amendment for the command's prefix when there is one, cancel) — and returns the
client's answer. The word helpers decide which prefix is proposed and which words a remembered
approval may match. The flow (`command_flow`) decides when to ask and what an answer means.
"""

from __future__ import annotations

import shlex
from typing import Any

from app_server.agent import approvals
from app_server.agent.tools.command_item import CommandItem
from app_server.agent.tools.command_request import CommandRequest
from app_server.agent.tools.exec.parse_command import to_command_actions
from app_server.agent.tools.registry import ToolContext

SHELL_OPERATORS = frozenset({"&&", "||", "|", ";", "&", ">", ">>", "<", "(", ")"})


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


async def ask_approval(
    item: CommandItem,
    request: CommandRequest,
    context: ToolContext,
    words: list[str],
    display: str,
) -> approvals.Answer:
    """Show the item as waiting, ask the client, and return its answer (module docstring)."""
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
