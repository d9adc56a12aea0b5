"""A code review's structured output (`review/start`), as codex 0.169 parses, stores and shows it.

The reviewer model is told to answer with one JSON object (findings with a title, a body, a
priority, a confidence and a code location; an overall verdict and explanation). Its last
message is read as that object; failing that, as the text between its first `{` and its last
`}` (a fenced or commented answer); failing that, the whole text becomes the explanation. The
result is what the rollout keeps (`ExitedReviewMode.review_output`), and what clients see is
its rendering (`render_review_text`): the explanation, then a findings block

    Review comment:                      (or "Full review comments:" for several)

    - <title> — <absolute path>:<start>-<end>
      <body, each line indented two spaces>

joined by a blank line ("Reviewer failed to output a response." when both are empty). This
module is below the agent layer because reading a stored thread renders the same text.
"""

from __future__ import annotations

import json
from typing import Any, NotRequired, TypedDict

from pydantic import BaseModel, ConfigDict, ValidationError

REVIEW_FALLBACK_MESSAGE = "Reviewer failed to output a response."
"""What a review that produced neither an explanation nor findings shows (codex's text)."""

SINGLE_HEADER = "Review comment:"
SEVERAL_HEADER = "Full review comments:"


class LineRange(TypedDict):
    start: int
    end: int


class CodeLocation(TypedDict):
    absolute_file_path: str
    line_range: LineRange


class ReviewFinding(TypedDict):
    title: str
    body: str
    confidence_score: float
    priority: NotRequired[int | None]
    code_location: CodeLocation


class ReviewOutput(TypedDict):
    """Codex's `ReviewOutputEvent`, as the rollout stores it."""

    findings: list[ReviewFinding]
    overall_correctness: str
    overall_explanation: str
    overall_confidence_score: float


class _LineRangeModel(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    start: int
    end: int


class _LocationModel(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    absolute_file_path: str
    line_range: _LineRangeModel


class _FindingModel(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    title: str
    body: str
    confidence_score: float
    priority: int | None = None
    code_location: _LocationModel


class _OutputModel(BaseModel):
    """Every field optional, as codex's `#[serde(default)]` struct; unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    findings: list[_FindingModel] = []
    overall_correctness: str = ""
    overall_explanation: str = ""
    overall_confidence_score: float = 0.0


def empty_output(explanation: str = "") -> ReviewOutput:
    return {
        "findings": [],
        "overall_correctness": "",
        "overall_explanation": explanation,
        "overall_confidence_score": 0.0,
    }


def parse_review_output(text: str) -> ReviewOutput:
    """The reviewer's last message as a review (see the module docstring for the fallbacks)."""
    parsed = _parse_json_object(text)
    if parsed is None:
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            parsed = _parse_json_object(text[start : end + 1])
    return parsed if parsed is not None else empty_output(text)


def _parse_json_object(text: str) -> ReviewOutput | None:
    try:
        model = _OutputModel.model_validate(json.loads(text))
    except (ValueError, ValidationError):
        return None
    findings: list[ReviewFinding] = []
    for finding in model.findings:
        location = finding.code_location
        findings.append(
            {
                "title": finding.title,
                "body": finding.body,
                "confidence_score": finding.confidence_score,
                "priority": finding.priority,
                "code_location": {
                    "absolute_file_path": location.absolute_file_path,
                    "line_range": {
                        "start": location.line_range.start,
                        "end": location.line_range.end,
                    },
                },
            }
        )
    return {
        "findings": findings,
        "overall_correctness": model.overall_correctness,
        "overall_explanation": model.overall_explanation,
        "overall_confidence_score": model.overall_confidence_score,
    }


def findings_block(findings: list[ReviewFinding]) -> str:
    """The findings as text, starting with an empty line (the model-visible record of a review
    puts it right after the explanation's newline)."""
    lines = ["", SEVERAL_HEADER if len(findings) > 1 else SINGLE_HEADER]
    for finding in findings:
        location = finding["code_location"]
        span = location["line_range"]
        lines.append("")
        lines.append(
            f"- {finding['title']} — {location['absolute_file_path']}:{span['start']}-{span['end']}"
        )
        lines.extend(f"  {line}" for line in finding["body"].splitlines())
    return "\n".join(lines)


def render_review_text(output: ReviewOutput) -> str:
    """What clients see of a review (the `exitedReviewMode` item and the agent message)."""
    sections: list[str] = []
    explanation = output["overall_explanation"].strip()
    if explanation:
        sections.append(explanation)
    if output["findings"]:
        block = findings_block(output["findings"]).strip()
        if block:
            sections.append(block)
    return "\n\n".join(sections) if sections else REVIEW_FALLBACK_MESSAGE


def stored_review_output(value: Any) -> ReviewOutput | None:
    """A `review_output` read back from a rollout (None: absent, an interrupted review)."""
    if value is None:
        return None
    try:
        return _parse_json_object(json.dumps(value))
    except (TypeError, ValueError):
        return None
