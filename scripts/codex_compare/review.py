"""The code review scenario (`review/start`): each kind of target the peer's workspace (not a
git repository) can take, a reviewer answering with codex's review JSON or with plain text,
the refusals, and the next turn and `thread/read` that show what the review left."""

from __future__ import annotations

import json

from scripts.codex_compare.steps import Call, Queue, Scenario, Turn, WaitFor
from tests.support.model_replies import Reply

NO_THREAD = "00000000-0000-0000-0000-000000000000"
TID = "$t.thread.id"
REVIEW_JSON = json.dumps(
    {
        "findings": [
            {
                "title": "[P1] Off by one",
                "body": "The loop skips the last element.",
                "confidence_score": 0.8,
                "priority": 1,
                "code_location": {
                    "absolute_file_path": "/tmp/a.py",
                    "line_range": {"start": 2, "end": 3},
                },
            }
        ],
        "overall_correctness": "patch is incorrect",
        "overall_explanation": "One bug found.",
        "overall_confidence_score": 0.7,
    }
)


def review(target: dict[str, str], **params: str) -> Call:
    return Call("review/start", {"threadId": TID, "target": target, **params})


REVIEW = Scenario(
    "code review",
    (
        Call("thread/start", {"cwd": "$cwd"}, save="t"),
        Queue((Reply.text(REVIEW_JSON),)),
        review({"type": "custom", "instructions": "  Check the math  "}),
        WaitFor("turn/completed"),
        Queue((Reply.text("Looks fine to me."),)),
        review({"type": "uncommittedChanges"}),
        WaitFor("turn/completed"),
        Queue((Reply.text(REVIEW_JSON),)),
        review({"type": "commit", "sha": "0123456789abcdef", "title": "a title"}),
        WaitFor("turn/completed"),
        review({"type": "custom", "instructions": "   "}),
        review({"type": "baseBranch", "branch": ""}),
        review({"type": "uncommittedChanges"}, delivery="detached"),
        Call("review/start", {"threadId": NO_THREAD, "target": {"type": "uncommittedChanges"}}),
        Turn(TID, "thanks", (Reply.text("you're welcome"),)),
        Call("thread/read", {"threadId": TID, "includeTurns": True}),
        Call("thread/unsubscribe", {"threadId": TID}),
        Call("thread/resume", {"threadId": TID}),
    ),
)
