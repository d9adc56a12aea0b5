"""Rollout file names: what codex calls a rollout, and what its name encodes (STORAGE.md §1).

`rollout-<YYYY-MM-DDThh-mm-ss>-<thread uuid>.jsonl`, or `.jsonl.zst` once compressed. The
timestamp is the creation time in the writing machine's *local* time. Pure: where such files
live and how they are found is the store's business (`store/local/rollout_files.py`).
"""

from __future__ import annotations

import re
from datetime import datetime

from msgspec import Struct

PLAIN_SUFFIX = ".jsonl"
ZST_SUFFIX = ".jsonl.zst"

ROLLOUT_FILE_NAME_RE = re.compile(r"^rollout-.*\.jsonl(\.zst)?$")
"""What codex accepts as a rollout; anything else in the trees (`*.tmp`, locks) is not a thread."""

_STRUCTURED_NAME_RE = re.compile(
    r"^rollout-(?P<stamp>\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2})-"
    r"(?P<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"\.jsonl(?P<zst>\.zst)?$"
)
_STAMP_FORMAT = "%Y-%m-%dT%H-%M-%S"


class RolloutFileName(Struct, frozen=True):
    """What a rollout file name says: the thread id and its creation time (second precision).

    `created_at` is naive: codex writes the *local* wall-clock time of the writing machine and
    the zone is not recorded. Use it only as a fallback when `session_meta.timestamp` is absent.
    """

    thread_id: str
    created_at: datetime
    compressed: bool


def is_rollout_file_name(name: str) -> bool:
    """Whether `name` is a rollout file name (`^rollout-.*\\.jsonl(\\.zst)?$`)."""
    return ROLLOUT_FILE_NAME_RE.match(name) is not None


def parse_rollout_file_name(name: str) -> RolloutFileName | None:
    """Thread id and timestamp encoded in a rollout file name; `None` if it is not one of ours.

    Accepts `rollout-<YYYY-MM-DDThh-mm-ss>-<uuid>.jsonl` and the same with `.zst`.
    """
    match = _STRUCTURED_NAME_RE.match(name)
    if match is None:
        return None
    try:
        created_at = datetime.strptime(match["stamp"], _STAMP_FORMAT)
    except ValueError:
        return None
    return RolloutFileName(
        thread_id=match["id"].lower(),
        created_at=created_at,
        compressed=match["zst"] is not None,
    )


def rollout_file_name(thread_id: str, created_at: datetime) -> str:
    """The plain file name codex gives a new thread's rollout.

    `created_at` should be the local wall-clock creation time (that is what codex writes); it is
    formatted as is, to the second.
    """
    return f"rollout-{created_at.strftime(_STAMP_FORMAT)}-{thread_id}{PLAIN_SUFFIX}"
