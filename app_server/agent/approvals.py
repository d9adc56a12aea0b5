"""When a tool call needs the client's approval, and what the client's answer means.

Policy (AGENT_LOOP.md §5.3), for commands:
- `untrusted`: ask for every command except known-safe read-only ones (the spec's rule; 0.169
  was seen asking even for `echo`);
- `on-request` (default): run in the sandbox without asking; ask when the model requests
  escalation (`sandbox_permissions: require_escalated`);
- `never`: never ask; an escalation is refused and the model is told;
- granular (experimental): like `on-request`, except that escalations are refused unless
  `sandbox_approval` is set.
Without a working sandbox (no bubblewrap) a read-only or workspace-write policy cannot be enforced,
so every command is asked about (and refused under `never`) instead of silently running
unconfined. A command the client approved runs outside the sandbox, as in 0.169: the person
vouched for it. Patches: `untrusted` always asks; otherwise a patch writing outside the writable
roots (or any patch under a read-only sandbox) asks, and is refused under `never`.

Answers (PROTOCOL.md §9): `accept` runs once, `acceptForSession` also skips the question for the
same command (or files) for the rest of the thread's life in this process,
`acceptWithExecpolicyAmendment` also skips it for every command starting with the given prefix,
`decline` refuses and the turn goes on, `cancel` refuses and interrupts the turn. A JSON-RPC error
answer refuses too (the item ends `failed`, as in 0.169); no answer (every recipient left, or the
approval timed out) counts as `cancel`.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

from msgspec import Struct, field

from app_server.client_connection import ServerRequestOutcome
from protocol import types as wire
from protocol.types import (
    ActiveThreadStatus,
    AskForApproval,
    GranularAskForApproval,
)
from protocol.wire_model import WireModel

if TYPE_CHECKING:
    from app_server.agent.tools.registry import ToolHost

KNOWN_SAFE_COMMANDS = frozenset(
    {
        "ls",
        "cat",
        "head",
        "tail",
        "wc",
        "pwd",
        "echo",
        "true",
        "false",
        "grep",
        "rg",
        "find",
        "sed",
        "nl",
        "less",
        "file",
        "stat",
        "which",
        "whoami",
        "date",
        "uname",
        "tree",
        "diff",
    }
)
"""Programs `untrusted` runs without asking (read-only by nature; `sed` only without `-i`,
`find` only without `-exec`/`-delete`, `git` only for read-only subcommands)."""

SAFE_GIT_SUBCOMMANDS = frozenset({"status", "log", "diff", "show", "branch", "rev-parse", "blame"})

Verdict = Literal["run", "ask", "refuse"]


class Decision(Enum):
    ACCEPT = "accept"
    ACCEPT_FOR_SESSION = "acceptForSession"
    DECLINE = "decline"
    CANCEL = "cancel"


class Answer(Struct, frozen=True):
    """A client's approval answer, read."""

    decision: Decision
    execpolicy_prefix: tuple[str, ...] | None = None
    allow_network_host: str | None = None
    request_failed: bool = False
    """The client answered with a JSON-RPC error (refused; the item ends `failed`)."""

    @property
    def approved(self) -> bool:
        return self.decision in (Decision.ACCEPT, Decision.ACCEPT_FOR_SESSION)


NO_ANSWER = Answer(Decision.CANCEL)


class ApprovalMemory(Struct):
    """What a thread's client already approved for the session (lives with the loaded thread)."""

    commands: set[str] = field(default_factory=set)
    prefixes: list[tuple[str, ...]] = field(default_factory=list)
    patch_paths: set[str] = field(default_factory=set)

    def command_approved(self, argv: Sequence[str], command: str) -> bool:
        if command in self.commands:
            return True
        return any(tuple(argv[: len(p)]) == p for p in self.prefixes if p)

    def remember_command(self, answer: Answer, command: str) -> None:
        if answer.decision is Decision.ACCEPT_FOR_SESSION:
            self.commands.add(command)
        if answer.execpolicy_prefix:
            self.prefixes.append(answer.execpolicy_prefix)

    def remember_patch(self, answer: Answer, paths: Iterable[str]) -> None:
        if answer.decision is Decision.ACCEPT_FOR_SESSION:
            self.patch_paths.update(paths)


def read_answer(raw: object) -> Answer:
    """Parse `{"decision": …}`; anything unreadable counts as `decline`."""
    decision: Any = raw.get("decision") if isinstance(raw, dict) else None
    if isinstance(decision, str):
        try:
            return Answer(Decision(decision))
        except ValueError:
            return Answer(Decision.DECLINE)
    if isinstance(decision, dict):
        if "acceptWithExecpolicyAmendment" in decision:
            parsed = (
                wire.AcceptWithExecpolicyAmendmentCommandExecutionApprovalDecision.model_validate(
                    decision
                )
            )
            prefix = tuple(parsed.accept_with_execpolicy_amendment.execpolicy_amendment)
            return Answer(Decision.ACCEPT, execpolicy_prefix=prefix)
        if "applyNetworkPolicyAmendment" in decision:
            network = (
                wire.ApplyNetworkPolicyAmendmentCommandExecutionApprovalDecision.model_validate(
                    decision
                )
            )
            amendment = network.apply_network_policy_amendment.network_policy_amendment
            return Answer(Decision.ACCEPT, allow_network_host=amendment.host)
    return Answer(Decision.DECLINE)


def _policy_name(policy: AskForApproval) -> str:
    return "granular" if isinstance(policy, GranularAskForApproval) else str(policy)


SHELL_METACHARACTERS = frozenset(";&|<>()$`\n")
"""A script with any of these is more than one plain command: it chains, redirects, substitutes
or expands something, so neither the safe list nor an approved prefix can vouch for it."""


def simple_command_words(script: str) -> list[str] | None:
    """The words of a script that is one plain command, else None (conservative: a quoted
    metacharacter counts too)."""
    if any(c in script for c in SHELL_METACHARACTERS):
        return None
    try:
        return shlex.split(script)
    except ValueError:
        return None


def is_known_safe(argv: Sequence[str]) -> bool:
    """Whether a command only reads (conservative: anything unclear is not safe)."""
    words: list[str] | None = list(argv)
    if len(argv) >= 3 and argv[1] in ("-lc", "-c") and argv[0].endswith("sh"):
        words = simple_command_words(argv[2])
    if not words:
        return False
    program = words[0].rsplit("/", 1)[-1]
    if program == "git":
        return len(words) > 1 and words[1] in SAFE_GIT_SUBCOMMANDS
    if program == "sed" and any(w.startswith("-i") for w in words[1:]):
        return False
    if program == "find" and any(w in {"-exec", "-execdir", "-delete", "-ok"} for w in words[1:]):
        return False
    return program in KNOWN_SAFE_COMMANDS


def command_verdict(
    policy: AskForApproval,
    *,
    sandbox_mode: str,
    sandboxed: bool,
    escalation: bool,
    argv: Sequence[str],
) -> Verdict:
    """Whether to run a command, ask the client first, or refuse it (module docstring).

    `argv` is the command as it runs (`bash -lc '…'` included); session approvals are the
    caller's to check first (`ApprovalMemory.command_approved`).
    """
    name = _policy_name(policy)
    needs_sandbox = sandbox_mode in ("read-only", "workspace-write")
    if needs_sandbox and not sandboxed:
        return "refuse" if name == "never" else "ask"
    if name == "untrusted":
        return "run" if is_known_safe(argv) and not escalation else "ask"
    if escalation:
        if name == "never":
            return "refuse"
        if isinstance(policy, GranularAskForApproval) and not policy.granular.sandbox_approval:
            return "refuse"
        return "ask"
    return "run"


def patch_verdict(
    policy: AskForApproval,
    *,
    sandbox_mode: str,
    outside_roots: bool,
    paths: Iterable[str],
    memory: ApprovalMemory,
) -> Verdict:
    """Whether to apply a patch, ask the client first, or refuse it (module docstring)."""
    name = _policy_name(policy)
    if set(paths) <= memory.patch_paths:
        return "run"
    if name == "untrusted":
        return "ask"
    if sandbox_mode in ("danger-full-access", "external"):
        return "run"
    if sandbox_mode == "read-only" or outside_roots:
        return "refuse" if name == "never" else "ask"
    return "run"


def answer_from(outcome: ServerRequestOutcome) -> Answer:
    """The decision a server request's outcome stands for (module docstring)."""
    if not outcome.answered:
        return NO_ANSWER
    if outcome.failed:
        return Answer(Decision.DECLINE, request_failed=True)
    return read_answer(outcome.result)


def announce_waiting(host: ToolHost) -> None:
    """`thread/status/changed active[waitingOnApproval]`, sent before the request."""
    host.set_status(ActiveThreadStatus(active_flags=["waitingOnApproval"]))


async def ask(host: ToolHost, method: str, params: WireModel) -> Answer:
    """Send an approval request and wait for the answer (`serverRequest/resolved` has gone out
    when this returns). The caller puts the thread back with `announce_running` — before the
    item completes when approved, after it when refused, as 0.169 orders them."""
    return answer_from(await host.ask(method, params))


def announce_running(host: ToolHost) -> None:
    """`thread/status/changed active[]` once the approval is settled."""
    host.set_status(ActiveThreadStatus(active_flags=[]))
