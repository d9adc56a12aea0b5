"""The records of a review's two marker items (`review/start`): the core items a paginated
thread keeps (`EnteredReviewMode {target, user_facing_hint}`, `ExitedReviewMode
{review_output}`, as codex 0.169 writes them) and the events a legacy thread keeps instead
(`entered_review_mode`, `exited_review_mode`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app_server.rollout.events import EnteredReviewModeEvent, ExitedReviewModeEvent
from app_server.rollout.items import EnteredReviewModeItem, ExitedReviewModeItem
from app_server.rollout.review_output import ReviewOutput

if TYPE_CHECKING:
    from protocol.types import ReviewTarget


def entered_review(item_id: str, target: ReviewTarget, hint: str) -> EnteredReviewModeItem:
    return {
        "type": "EnteredReviewMode",
        "id": item_id,
        "target": target.model_dump(mode="json"),
        "user_facing_hint": hint,
    }


def exited_review(item_id: str, output: ReviewOutput | None) -> ExitedReviewModeItem:
    return {"type": "ExitedReviewMode", "id": item_id, "review_output": output}


def legacy_entered_review(core: EnteredReviewModeItem) -> EnteredReviewModeEvent:
    return {
        "type": "entered_review_mode",
        "target": dict(core["target"]),
        "user_facing_hint": core["user_facing_hint"],
    }


def legacy_exited_review(core: ExitedReviewModeItem) -> ExitedReviewModeEvent:
    return {"type": "exited_review_mode", "review_output": core["review_output"]}
