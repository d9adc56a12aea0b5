"""The differential check's scenario for `thread/shellCommand` while a turn runs: the command
runs inside the running turn (a model turn waiting for its first byte, then another user
command's turn), and what the thread shows afterwards."""

from __future__ import annotations

from scripts.codex_compare.steps import Call, Queue, Scenario, Turn, WaitFor
from tests.support.model_replies import Reply

TID = "$t.thread.id"

SHELL_DURING_TURN = Scenario(
    "shell command during a turn",
    (
        Call("thread/start", {"cwd": "$cwd"}, save="t"),
        Turn(TID, "slow", (Reply.text("slow answer").delayed(first_byte=2.0),), wait=False),
        Queue((Reply.text("seen it"),)),
        Call("thread/shellCommand", {"threadId": TID, "command": "echo inside"}),
        WaitFor("turn/completed"),
        Call("thread/read", {"threadId": TID, "includeTurns": True}),
        Call("thread/shellCommand", {"threadId": TID, "command": "sleep 1; echo first"}),
        Call("thread/shellCommand", {"threadId": TID, "command": "echo second"}),
        WaitFor("turn/completed"),
        Call("thread/turns/list", {"threadId": TID}),
    ),
)
