"""The differential check's `thread/revert` scenario: a revert to the middle of a thread, the
reads, searches (the dropped turns' text is not found) and the turn that follow, a revert to the
first turn, and the refusals (unknown turn, unknown thread, legacy and ephemeral threads)."""

from __future__ import annotations

from scripts.codex_compare.steps import Call, Scenario, Turn
from tests.support.model_replies import Reply

NO_THREAD = "00000000-0000-0000-0000-000000000000"
TID = "$t.thread.id"

REVERT = Scenario(
    "thread revert",
    (
        Call("thread/start", {"cwd": "$cwd"}, save="t"),
        Turn(TID, "one", (Reply.text("ans one"),), save="t1"),
        Turn(TID, "two", (Reply.text("ans two"),), save="t2"),
        Turn(TID, "three", (Reply.text("ans three"),)),
        Call("thread/revert", {"threadId": TID, "beforeTurnId": "nope"}),
        Call("thread/revert", {"threadId": NO_THREAD, "beforeTurnId": "nope"}),
        Call("thread/revert", {"threadId": TID, "beforeTurnId": "$t2.turn.id"}),
        Call("thread/turns/list", {"threadId": TID}),
        Call("thread/items/list", {"threadId": TID}),
        Call("thread/read", {"threadId": TID}),
        Call("thread/search", {"searchTerm": "three"}),
        Turn(TID, "four", (Reply.text("ans four"),)),
        Call("thread/revert", {"threadId": TID, "beforeTurnId": "$t1.turn.id"}),
        Call("thread/turns/list", {"threadId": TID}),
        Call("thread/start", {"cwd": "$cwd", "historyMode": "legacy"}, save="l"),
        Turn("$l.thread.id", "legacy", (Reply.text("ok"),), save="l1"),
        Call("thread/revert", {"threadId": "$l.thread.id", "beforeTurnId": "$l1.turn.id"}),
        Call("thread/start", {"cwd": "$cwd", "ephemeral": True}, save="e"),
        Turn("$e.thread.id", "ephemeral", (Reply.text("ok"),), save="e1"),
        Call("thread/revert", {"threadId": "$e.thread.id", "beforeTurnId": "$e1.turn.id"}),
    ),
)
