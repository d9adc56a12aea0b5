"""What a finished review leaves in the thread's model-visible history, as codex 0.169 words it:
a user message with the review (`<user_action>`, so the next turn can act on the findings) and
an assistant message with the text clients were shown."""

from __future__ import annotations

from collections.abc import Sequence

from app_server.agent.instructions import single_user_text
from app_server.agent.user_shell import is_user_shell_record
from app_server.rollout.lines import JsonObject
from app_server.rollout.review_output import ReviewOutput, findings_block

RECORD_OPENING = "<user_action>"

SUCCESS_TEMPLATE = (
    "<user_action>\n"
    "  <context>User initiated a review task. Here's the full review output from reviewer "
    "model. User may select one or more comments to resolve.</context>\n"
    "  <action>review</action>\n"
    "  <results>\n"
    "  {results}\n"
    "  </results>\n"
    "  </user_action>\n"
)
INTERRUPTED_TEMPLATE = (
    "<user_action>\n"
    "  <context>User initiated a review task, but was interrupted. If user asks about this, "
    "tell them to re-initiate a review with `/review` and wait for it to complete.</context>\n"
    "  <action>review</action>\n"
    "  <results>\n"
    "  None.\n"
    "  </results>\n"
    "</user_action>\n\n"
)
INTERRUPTED_ANSWER = "Review was interrupted. Please re-run /review and wait for it to complete."
"""The assistant message (and agent message item) of a review that did not finish."""


def review_record(output: ReviewOutput) -> str:
    """The `<user_action>` message of a finished review: the explanation, then its findings."""
    results = output["overall_explanation"].strip()
    if output["findings"]:
        results += "\n" + findings_block(output["findings"])
    return SUCCESS_TEMPLATE.replace("{results}", results)


def is_review_record(item: JsonObject) -> bool:
    """Whether a model-history item is a review's `<user_action>` message."""
    text = single_user_text(item)
    return text is not None and text.startswith(RECORD_OPENING)


def holds_no_context(items: Sequence[JsonObject]) -> bool:
    """Whether a thread's model history holds only what turns that do not sample the thread's
    model leave — user shell command records, reviews (their `<user_action>` message and the
    assistant's answer after it) — so its next model turn must still open with the harness
    context, as codex's does."""
    after_review = False
    for item in items:
        if is_user_shell_record(item) or is_review_record(item):
            after_review = is_review_record(item)
            continue
        if after_review and item.get("type") == "message" and item.get("role") == "assistant":
            after_review = False
            continue
        return False
    return True
