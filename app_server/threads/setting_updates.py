"""The settings fields `turn/start` and `thread/settings/update` both carry and read alike.

Each names a field of `ResolvedSettings`; a field the request leaves out or sends as null keeps
the thread's value. What the two methods read differently (`cwd`, `model`, `serviceTier`,
`permissions`) stays with each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from app_server.agent.instructions import plan_mode_instructions

if TYPE_CHECKING:
    from protocol.types import CollaborationMode

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
    @property
    def collaboration_mode(self) -> CollaborationMode | None: ...


def shared_updates(params: SettingsRequest) -> dict[str, Any]:
    """The `ResolvedSettings` updates of the shared fields `params` sets."""
    return {
        field: value
        for request_field, field in SHARED_FIELDS
        if (value := getattr(params, request_field)) is not None
    }


def collaboration_updates(params: SettingsRequest) -> dict[str, Any]:
    """The `ResolvedSettings` updates of a request's `collaborationMode`, applied after the
    other fields (it takes precedence over model, effort and instructions, as in codex 0.169):
    its kind, model and effort, and its developer instructions (plan mode's built-in ones when
    it gives none; none for the default mode)."""
    mode = params.collaboration_mode
    if mode is None:
        return {}
    instructions = mode.settings.developer_instructions
    if instructions is None and mode.mode == "plan":
        instructions = plan_mode_instructions()
    return {
        "collaboration_mode": mode.mode,
        "model": mode.settings.model,
        "reasoning_effort": mode.settings.reasoning_effort,
        "collaboration_instructions": instructions,
    }
