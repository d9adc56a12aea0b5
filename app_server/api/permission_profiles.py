"""`permissionProfile/list`: the built-in permission profiles, as codex 0.169 lists them.

`:read-only`, `:workspace` and `:danger-full-access` are the sandbox modes a thread may run
under (`sandbox_mode`); all are allowed, as no managed requirements restrict them here.
"""

from __future__ import annotations

from app_server.api.list_page import list_page
from app_server.client_connection import ClientConnection
from protocol.types import (
    ActivePermissionProfile,
    DangerFullAccessSandboxPolicy,
    PermissionProfileListParams,
    PermissionProfileListResponse,
    PermissionProfileSummary,
    ReadOnlySandboxPolicy,
    SandboxPolicy,
    WorkspaceWriteSandboxPolicy,
)

BUILTIN_PROFILES = (":read-only", ":workspace", ":danger-full-access")
"""Codex 0.169's built-in profile ids, in its order."""


def active_permission_profile(sandbox: SandboxPolicy) -> ActivePermissionProfile | None:
    """The built-in profile a thread's sandbox amounts to, as codex 0.169 reports it on
    thread/start, resume and fork (`activePermissionProfile`); none for an external sandbox."""
    if isinstance(sandbox, ReadOnlySandboxPolicy):
        return ActivePermissionProfile(id=BUILTIN_PROFILES[0])
    if isinstance(sandbox, WorkspaceWriteSandboxPolicy):
        return ActivePermissionProfile(id=BUILTIN_PROFILES[1])
    if isinstance(sandbox, DangerFullAccessSandboxPolicy):
        return ActivePermissionProfile(id=BUILTIN_PROFILES[2])
    return None


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
