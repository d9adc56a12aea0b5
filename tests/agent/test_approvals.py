"""The approval policy as pure functions: when to run, ask or refuse, and what answers mean."""

from __future__ import annotations

import pytest

from app_server.agent.approvals import (
    NO_ANSWER,
    Answer,
    ApprovalMemory,
    Decision,
    answer_from,
    command_verdict,
    is_known_safe,
    patch_verdict,
    read_answer,
)
from app_server.client_connection import UNANSWERED, ServerRequestOutcome
from protocol.types import AskForApproval, GranularAskForApproval, GranularAskForApprovalPayload

BASH = "/bin/bash"


def bash(script: str) -> list[str]:
    return [BASH, "-lc", script]


def verdict(policy: object, script: str, **kwargs: object) -> str:
    options: dict[str, object] = {
        "sandbox_mode": "workspace-write",
        "sandboxed": True,
        "escalation": False,
    }
    options.update(kwargs)
    return command_verdict(policy, argv=bash(script), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("script", ["ls -la", "cat notes.txt", "git status", "rg foo src", "pwd"])
def test_read_only_commands_are_known_safe(script: str) -> None:
    assert is_known_safe(bash(script))


@pytest.mark.parametrize(
    "script",
    [
        "touch x",
        "ls && rm -rf x",
        "cat a > b",
        "sed -i s/a/b/ f",
        "find . -delete",
        "git push",
        "echo 'unterminated",
        "cat a>b",
        "ls $(rm -rf x)",
        "ls `rm x`",
        "cat notes.txt;rm x",
    ],
)
def test_anything_that_may_write_is_not_known_safe(script: str) -> None:
    assert not is_known_safe(bash(script))


def test_untrusted_asks_unless_the_command_is_known_safe() -> None:
    assert verdict("untrusted", "touch x") == "ask"
    assert verdict("untrusted", "ls") == "run"


def test_on_request_runs_sandboxed_and_asks_only_for_escalation() -> None:
    assert verdict("on-request", "touch x") == "run"
    assert verdict("on-request", "touch x", escalation=True) == "ask"


def test_never_refuses_escalation() -> None:
    assert verdict("never", "touch x") == "run"
    assert verdict("never", "touch x", escalation=True) == "refuse"


def test_granular_refuses_escalation_unless_sandbox_approval_is_on() -> None:
    def granular(sandbox_approval: bool) -> GranularAskForApproval:
        payload = GranularAskForApprovalPayload(
            sandbox_approval=sandbox_approval, rules=True, mcp_elicitations=True
        )
        return GranularAskForApproval(granular=payload)

    assert verdict(granular(False), "touch x", escalation=True) == "refuse"
    assert verdict(granular(True), "touch x", escalation=True) == "ask"


def test_without_a_sandbox_every_command_is_asked_or_refused() -> None:
    assert verdict("on-request", "ls", sandboxed=False) == "ask"
    assert verdict("never", "ls", sandboxed=False) == "refuse"
    assert verdict("never", "ls", sandboxed=False, sandbox_mode="danger-full-access") == "run"


def test_patches_ask_outside_the_roots_and_under_untrusted() -> None:
    memory = ApprovalMemory()

    def patch(policy: AskForApproval, mode: str, outside: bool) -> str:
        return patch_verdict(
            policy, sandbox_mode=mode, outside_roots=outside, paths=["/w/a"], memory=memory
        )

    assert patch("on-request", "workspace-write", False) == "run"
    assert patch("on-request", "workspace-write", True) == "ask"
    assert patch("never", "workspace-write", True) == "refuse"
    assert patch("untrusted", "workspace-write", False) == "ask"
    assert patch("on-request", "read-only", False) == "ask"
    assert patch("never", "danger-full-access", True) == "run"


def test_accept_for_session_remembers_the_exact_command_and_files() -> None:
    memory = ApprovalMemory()
    memory.remember_command(Answer(Decision.ACCEPT_FOR_SESSION), "touch x")
    memory.remember_command(Answer(Decision.ACCEPT), "touch y")
    assert memory.command_approved(["touch", "x"], "touch x")
    assert not memory.command_approved(["touch", "y"], "touch y")
    memory.remember_patch(Answer(Decision.ACCEPT_FOR_SESSION), ["/w/a"])
    assert (
        patch_verdict(
            "untrusted", sandbox_mode="read-only", outside_roots=True, paths=["/w/a"], memory=memory
        )
        == "run"
    )


def test_execpolicy_amendment_approves_by_prefix() -> None:
    amendment = {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": ["touch", "x"]}}
    answer = read_answer({"decision": amendment})
    assert answer.approved
    memory = ApprovalMemory()
    memory.remember_command(answer, "touch x")
    assert memory.command_approved(["touch", "x", "y"], "touch x y")
    assert not memory.command_approved(["touch", "z"], "touch z")


@pytest.mark.parametrize(
    ("raw", "decision"),
    [
        ({"decision": "accept"}, Decision.ACCEPT),
        ({"decision": "acceptForSession"}, Decision.ACCEPT_FOR_SESSION),
        ({"decision": "decline"}, Decision.DECLINE),
        ({"decision": "cancel"}, Decision.CANCEL),
        ({"decision": "maybe"}, Decision.DECLINE),
        ({}, Decision.DECLINE),
        ("nonsense", Decision.DECLINE),
    ],
)
def test_answers_are_read_and_anything_unreadable_declines(raw: object, decision: Decision) -> None:
    assert read_answer(raw).decision is decision


def test_no_answer_cancels_and_an_error_answer_refuses_as_failed() -> None:
    assert answer_from(UNANSWERED) == NO_ANSWER
    assert answer_from(UNANSWERED).decision is Decision.CANCEL
    failed = answer_from(ServerRequestOutcome(answered=True, failed=True))
    assert (failed.decision, failed.request_failed) == (Decision.DECLINE, True)
    accepted = answer_from(ServerRequestOutcome({"decision": "accept"}, answered=True))
    assert accepted.approved
