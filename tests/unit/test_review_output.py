"""The reviewer's answer read as codex 0.169 reads it, and the review text clients see."""

from __future__ import annotations

import json

from app_server.agent.review.messages import holds_no_context, review_record
from app_server.agent.review.targets import user_facing_hint
from app_server.rollout.review_output import (
    REVIEW_FALLBACK_MESSAGE,
    ReviewOutput,
    empty_output,
    parse_review_output,
    render_review_text,
)
from protocol.types import (
    BaseBranchReviewTarget,
    CommitReviewTarget,
    CustomReviewTarget,
    UncommittedChangesReviewTarget,
)


def finding(title: str, body: str = "Body.") -> dict[str, object]:
    return {
        "title": title,
        "body": body,
        "confidence_score": 0.5,
        "priority": 2,
        "code_location": {"absolute_file_path": "/r/x.py", "line_range": {"start": 4, "end": 5}},
    }


def test_a_json_answer_is_parsed_with_defaults_for_missing_fields() -> None:
    output = parse_review_output(json.dumps({"findings": [finding("A")]}))

    assert output["overall_explanation"] == ""
    assert output["overall_confidence_score"] == 0.0
    assert [f["title"] for f in output["findings"]] == ["A"]


def test_json_inside_prose_or_fences_is_found_between_the_outer_braces() -> None:
    text = 'Here:\n```json\n{"overall_explanation": "fine", "findings": []}\n```'

    assert parse_review_output(text)["overall_explanation"] == "fine"


def test_an_answer_that_is_not_a_review_becomes_the_explanation() -> None:
    assert parse_review_output("just words {not json}") == empty_output("just words {not json}")


def test_a_finding_without_a_location_makes_the_answer_plain_text() -> None:
    text = json.dumps({"findings": [{"title": "A", "body": "B", "confidence_score": 1}]})

    assert parse_review_output(text)["overall_explanation"] == text


def test_several_findings_render_under_the_full_comments_header() -> None:
    output: ReviewOutput = parse_review_output(
        json.dumps(
            {"findings": [finding("A", "one\ntwo"), finding("B")], "overall_explanation": " E "}
        )
    )

    assert render_review_text(output) == (
        "E\n\nFull review comments:\n\n- A — /r/x.py:4-5\n  one\n  two\n\n"
        "- B — /r/x.py:4-5\n  Body."
    )


def test_an_empty_review_renders_codex_fallback_text() -> None:
    assert render_review_text(empty_output("  ")) == REVIEW_FALLBACK_MESSAGE


def test_the_history_record_keeps_the_explanation_newline_before_the_findings() -> None:
    output = parse_review_output(
        json.dumps({"findings": [finding("A")], "overall_explanation": "E"})
    )

    assert "  <results>\n  E\n\nReview comment:\n\n- A — /r/x.py:4-5\n  Body.\n  </results>" in (
        review_record(output)
    )


def test_hints_name_the_target_as_codex_does() -> None:
    sha = "0123456789abcdef"
    assert user_facing_hint(UncommittedChangesReviewTarget()) == "current changes"
    assert user_facing_hint(BaseBranchReviewTarget(branch="main")) == "changes against 'main'"
    assert user_facing_hint(CommitReviewTarget(sha=sha)) == "commit 0123456"
    assert user_facing_hint(CommitReviewTarget(sha=sha, title="T")) == "commit 0123456: T"
    assert user_facing_hint(CustomReviewTarget(instructions=" look \n")) == "look"


def test_a_history_of_reviews_holds_no_context_but_a_model_turn_does() -> None:
    def message(role: str, text: str) -> dict[str, object]:
        kind = "output_text" if role == "assistant" else "input_text"
        return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}

    review = [message("user", review_record(empty_output("E"))), message("assistant", "E")]

    assert holds_no_context(review)
    assert not holds_no_context([*review, message("assistant", "another answer")])
    assert not holds_no_context([message("user", "hello")])
