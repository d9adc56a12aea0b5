"""`permissionProfile/list`: the built-in permission profiles, as codex 0.169 lists them.

`:read-only`, `:workspace` and `:danger-full-access` are the sandbox modes a thread may run
under (`sandbox_mode`); all are allowed, as no managed requirements restrict them here.
"""

from __future__ import annotations

from app_server.api.list_page import list_page
from app_server.client_connection import ClientConnection
from app_server.threads.permission_profile import BUILTIN_PROFILES
from protocol.types import (
    PermissionProfileListParams,
    PermissionProfileListResponse,
    PermissionProfileSummary,
)

DEFAULT_PAGE_SIZE = 100
"""Profiles per page when the client gives no limit (there are three)."""


class PermissionProfileHandlers:
    """Handler of `permissionProfile/list`."""

    async def list(
        self, connection: ClientConnection, params: PermissionProfileListParams
    ) -> PermissionProfileListResponse:
        profiles = [
            PermissionProfileSummary(id=profile, description=None, allowed=True)
            for profile in BUILTIN_PROFILES
        ]
        page, next_cursor = list_page(profiles, params.cursor, params.limit, DEFAULT_PAGE_SIZE)
        return PermissionProfileListResponse(data=page, next_cursor=next_cursor)
