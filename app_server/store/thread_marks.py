"""Per-thread marks a store keeps beside the history: read receipts, the thread goal, and the
metadata `thread/metadata/update` patched (Git info, Daybreak choice).

Why beside the history and not in it: neither is conversation content. Codex 0.169 keeps read
receipts in its state database (`thread_read_receipts`) and goals in `goals_1.sqlite`; both are
per-thread state that clients edit and read back, and that must survive a restart. Both stores
keep them with the same rules, stated here as pure functions so the two cannot drift.

Read receipt (`ThreadReadState` on the wire): the first unread position of a thread, encoded as
codex encodes `first_unread_turn`: None = read, `""` = the thread's start (explicitly marked
unread), else the id of the earliest completed turn the user has not seen. Every change gets a
fresh opaque revision (a UUID4, as codex's); an update names the revision its caller saw and is
refused (`ReadStateConflict`, carrying the current state) when it is not the current one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Final, Literal

from msgspec import Struct, field
from msgspec.structs import replace

from app_server.store.errors import StoreError

THREAD_START: Final = ""
"""`first_unread_turn` of a thread marked unread as a whole (`{"type": "threadStart"}`)."""

ReadMark = Literal["read", "unread"]
GoalStatus = Literal["active", "paused", "blocked", "usageLimited", "budgetLimited", "complete"]


class ReadReceipt(Struct, frozen=True):
    """A thread's read state (see the module docstring for the encoding)."""

    thread_id: str
    first_unread_turn: str | None
    revision: str
    last_published_turn: str | None = None
    """The last completed turn reported to the receipt (codex's column of the same name)."""


class ReadStateConflict(StoreError):
    """`expectedRevision` is not the current revision: someone else changed the read state."""

    def __init__(self, current: ReadReceipt) -> None:
        super().__init__("read state changed")
        self.current = current


def new_revision() -> str:
    return str(uuid.uuid4())


def initial_receipt(thread_id: str) -> ReadReceipt:
    """The receipt of a stored thread nothing has marked yet: read, with a revision derived from
    its id (stable across restarts, so a client's revision stays valid until a change)."""
    return ReadReceipt(thread_id, None, f"initial:{thread_id}")


def after_turn_completed(receipt: ReadReceipt, turn_id: str) -> ReadReceipt:
    """A completed turn is unread unless an earlier unread position already covers it (codex:
    a read thread gets `{"type": "turn", turnId}`, an unread one keeps its position); the
    revision changes either way."""
    first = turn_id if receipt.first_unread_turn is None else receipt.first_unread_turn
    return replace(
        receipt, first_unread_turn=first, revision=new_revision(), last_published_turn=turn_id
    )


def after_mark(receipt: ReadReceipt, expected_revision: str, mark: ReadMark) -> ReadReceipt:
    """The receipt after a client marks the thread read or unread (a new revision even when
    nothing else changes, as codex does). Raises `ReadStateConflict` on a stale revision."""
    if expected_revision != receipt.revision:
        raise ReadStateConflict(receipt)
    first = None if mark == "read" else THREAD_START
    return replace(receipt, first_unread_turn=first, revision=new_revision())


class GoalRecord(Struct, frozen=True):
    """A thread's goal (`ThreadGoal` on the wire; timestamps here in unix ms)."""

    thread_id: str
    goal_id: str
    objective: str
    status: GoalStatus
    token_budget: int | None
    tokens_used: int
    time_used_seconds: int
    created_at_ms: int
    updated_at_ms: int


GIT_FIELDS: Final = ("sha", "branch", "origin_url")
"""The Git fields a metadata patch may set (`GitInfo` on the wire, snake_case here)."""


class MetadataPatch(Struct, frozen=True):
    """What `thread/metadata/update` set on a thread, kept as codex 0.169 keeps it in its state
    database: not in the rollout, and over what the rollout says (`session_meta.git`).

    `git` holds only the fields a request set (a None value clears that field); a thread whose
    patch sets nothing in `git` shows its rollout's Git info unchanged."""

    git: Mapping[str, str | None] = field(default_factory=dict)
    daybreak_enabled: bool | None = None

    def then(self, later: MetadataPatch) -> MetadataPatch:
        """This patch with a later one applied over it (field by field)."""
        return MetadataPatch(
            git={**self.git, **later.git},
            daybreak_enabled=(
                later.daybreak_enabled
                if later.daybreak_enabled is not None
                else self.daybreak_enabled
            ),
        )
