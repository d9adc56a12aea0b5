"""`collaborationMode/list`: codex 0.169's two collaboration-mode presets, as it lists them.

Plan (medium reasoning, no model of its own) and Default (the thread's settings unchanged).
"""

from __future__ import annotations

from app_server.client_connection import ClientConnection
from protocol.types import (
    CollaborationModeListParams,
    CollaborationModeListResponse,
    CollaborationModeMask,
)

PRESETS = (
    CollaborationModeMask(name="Plan", mode="plan", model=None, reasoning_effort="medium"),
    CollaborationModeMask(name="Default", mode="default", model=None, reasoning_effort=None),
)
"""Codex 0.169's presets, in its order (checked against the real binary)."""


class CollaborationModeHandlers:
    """Handler of `collaborationMode/list`."""

    async def list(
        self, connection: ClientConnection, params: CollaborationModeListParams
    ) -> CollaborationModeListResponse:
        return CollaborationModeListResponse(data=list(PRESETS))
