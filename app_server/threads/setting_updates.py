"""The settings fields `turn/start` and `thread/settings/update` both carry and read alike.

Each names a field of `ResolvedSettings`; a field the request leaves out or sends as null keeps
the thread's value. What the two methods read differently (`cwd`, `model`, `serviceTier`,
`permissions`) stays with each.
"""

from __future__ import annotations

from typing import Any, Protocol

SHARED_FIELDS: tuple[tuple[str, str], ...] = (
    ("effort", "reasoning_effort"),
    ("summary", "reasoning_summary"),
    ("approval_policy", "approval_policy"),
    ("approvals_reviewer", "approvals_reviewer"),
    ("sandbox_policy", "sandbox"),
)
"""(request field, `ResolvedSettings` field) pairs."""


class SettingsRequest(Protocol):
    """The params of a request that changes a thread's settings."""

    @property
    def effort(self) -> object: ...
    @property
    def summary(self) -> object: ...
    @property
    def approval_policy(self) -> object: ...
    @property
    def approvals_reviewer(self) -> object: ...
    @property
    def sandbox_policy(self) -> object: ...


def shared_updates(params: SettingsRequest) -> dict[str, Any]:
    """The `ResolvedSettings` updates of the shared fields `params` sets."""
    return {
        field: value
        for request_field, field in SHARED_FIELDS
        if (value := getattr(params, request_field)) is not None
    }
