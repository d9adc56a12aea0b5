"""Where a loaded thread's history lives, as one explicit state with the moves allowed between.

A loaded thread used to describe this with independent flags (`persisted`, `ephemeral`,
`has_stored_history`) that any module could set, so nothing stopped combinations that mean
nothing (an ephemeral thread with a rollout) or a released thread getting a writer again. The
thread manager makes every move; an illegal one is a bug in the caller and raises.

    EPHEMERAL ─────────────────────────────┐
    UNSAVED ──(first write)──> CREATED ────┤
    STORED ────────────────────────────────┴──(released)──> RELEASED
"""

from __future__ import annotations

from enum import Enum


class Lifecycle(Enum):
    EPHEMERAL = "ephemeral"
    """Never written: `thread/start` or `thread/fork` with `ephemeral: true`."""
    UNSAVED = "unsaved"
    """A new thread without a rollout yet; the manager creates it at the first turn."""
    CREATED = "created"
    """The rollout was created by this process at the first turn: nothing older to read."""
    STORED = "stored"
    """The rollout held history when the thread was loaded (resumed, forked, spawned): its
    model history is read from the store before the first turn."""
    RELEASED = "released"
    """Unloaded (idle, archived, deleted) or shut down: writer closed, never written again."""

    @property
    def persisted(self) -> bool:
        """Whether the rollout file exists (other connections may see and resume it)."""
        return self in (Lifecycle.CREATED, Lifecycle.STORED)


class IllegalTransition(RuntimeError):
    """A move a loaded thread's state does not allow (a bug in the caller)."""


_ALLOWED: dict[Lifecycle, frozenset[Lifecycle]] = {
    Lifecycle.EPHEMERAL: frozenset({Lifecycle.RELEASED}),
    Lifecycle.UNSAVED: frozenset({Lifecycle.CREATED, Lifecycle.RELEASED}),
    Lifecycle.CREATED: frozenset({Lifecycle.RELEASED}),
    Lifecycle.STORED: frozenset({Lifecycle.RELEASED}),
    Lifecycle.RELEASED: frozenset(),
}


def checked_transition(current: Lifecycle, target: Lifecycle) -> Lifecycle:
    """`target`, if the machine allows moving there from `current`; IllegalTransition if not."""
    if target not in _ALLOWED[current]:
        raise IllegalTransition(f"a {current.value} thread cannot become {target.value}")
    return target
