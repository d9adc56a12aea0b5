"""What a review looks at (`review/start`'s `target`): the prompt the reviewer model gets and the
hint clients show, worded as codex 0.169 words them (checked against the binary).

| target               | hint (`enteredReviewMode.review`) | prompt (the reviewer's user message) |
|----------------------|-----------------------------------|--------------------------------------|
| `uncommittedChanges` | `current changes`                 | review staged, unstaged, untracked   |
| `baseBranch`         | `changes against '<branch>'`      | diff against the merge base with it  |
| `commit`             | `commit <sha7>[: <title>]`        | the changes of that commit           |
| `custom`             | the instructions, trimmed         | the instructions, trimmed            |

A base branch's prompt names the merge base of `HEAD` and the branch when git finds one in the
thread's cwd, and otherwise tells the model how to find it. Empty instructions, branch or sha
are refused before anything runs (`-32600`, codex's texts); a sha that names no commit is not
(the reviewer finds out, as in codex).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct

from app_server.errors import InvalidRequest
from protocol import types as wire

if TYPE_CHECKING:
    from protocol.types import ReviewTarget

SHORT_SHA_CHARS = 7
"""How much of a commit's sha the hint shows (git's short form)."""

GIT_TIMEOUT_S = 10.0
"""How long finding a merge base may take before the review falls back to the prompt that lets
the model find it; a longer wait delays `review/start`'s answer on a huge or slow repository."""

UNCOMMITTED_PROMPT = (
    "Review the current code changes (staged, unstaged, and untracked files) and provide "
    "prioritized findings."
)
MERGE_BASE_PROMPT = (
    "Review the code changes against the base branch '{branch}'. The merge base commit for this "
    "comparison is {sha}. Run `git diff {sha}` to inspect the changes relative to {branch}. "
    "Provide prioritized, actionable findings."
)
BASE_BRANCH_PROMPT = (
    "Review the code changes against the base branch '{branch}'. Start by finding the merge diff "
    "between the current branch and {branch}'s upstream e.g. (`git merge-base HEAD \"$(git "
    'rev-parse --abbrev-ref "{branch}@{{upstream}}")"`), then run `git diff` against that SHA to '
    "see what changes we would merge into the {branch} branch. Provide prioritized, actionable "
    "findings."
)
COMMIT_PROMPT = (
    "Review the code changes introduced by commit {sha}. Provide prioritized, actionable findings."
)
COMMIT_TITLE_PROMPT = (
    'Review the code changes introduced by commit {sha} ("{title}"). Provide prioritized, '
    "actionable findings."
)


class ReviewRequest(Struct, frozen=True):
    """A resolved review: its target (as given), the reviewer's prompt and the clients' hint."""

    target: ReviewTarget
    prompt: str
    hint: str


def check_target(target: ReviewTarget) -> None:
    """Refuse a target codex refuses, before anything starts."""
    if isinstance(target, wire.CustomReviewTarget) and not target.instructions.strip():
        raise InvalidRequest("instructions must not be empty")
    if isinstance(target, wire.BaseBranchReviewTarget) and not target.branch.strip():
        raise InvalidRequest("branch must not be empty")
    if isinstance(target, wire.CommitReviewTarget) and not target.sha.strip():
        raise InvalidRequest("sha must not be empty")


def user_facing_hint(target: ReviewTarget) -> str:
    if isinstance(target, wire.UncommittedChangesReviewTarget):
        return "current changes"
    if isinstance(target, wire.BaseBranchReviewTarget):
        return f"changes against '{target.branch}'"
    if isinstance(target, wire.CommitReviewTarget):
        short = target.sha[:SHORT_SHA_CHARS]
        return f"commit {short}: {target.title}" if target.title else f"commit {short}"
    return target.instructions.strip()


async def resolve_review(target: ReviewTarget, cwd: Path) -> ReviewRequest:
    """The prompt and hint for `target` (a base branch's merge base is looked up in `cwd`)."""
    check_target(target)
    hint = user_facing_hint(target)
    if isinstance(target, wire.UncommittedChangesReviewTarget):
        prompt = UNCOMMITTED_PROMPT
    elif isinstance(target, wire.BaseBranchReviewTarget):
        base = await merge_base(cwd, target.branch)
        prompt = (
            MERGE_BASE_PROMPT.format(branch=target.branch, sha=base)
            if base
            else BASE_BRANCH_PROMPT.format(branch=target.branch)
        )
    elif isinstance(target, wire.CommitReviewTarget):
        prompt = (
            COMMIT_TITLE_PROMPT.format(sha=target.sha, title=target.title)
            if target.title
            else COMMIT_PROMPT.format(sha=target.sha)
        )
    else:
        prompt = target.instructions.strip()
    return ReviewRequest(target, prompt, hint)


async def merge_base(cwd: Path, branch: str) -> str | None:
    """`git merge-base HEAD <branch>` in `cwd`: the sha, or None (not a repository, no such
    branch, no common history, git missing or too slow). A name that git would read as an
    option is no branch."""
    if branch.startswith("-"):
        return None
    try:
        process = await asyncio.create_subprocess_exec(
            "git",
            "merge-base",
            "HEAD",
            branch,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return None
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), GIT_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        return None
    sha = stdout.decode("utf-8", "replace").strip()
    return sha if process.returncode == 0 and sha else None
