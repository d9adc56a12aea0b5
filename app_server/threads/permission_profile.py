"""Which built-in permission profile a thread's sandbox amounts to (`activePermissionProfile`).

Pure, and in the threads layer so both the thread/start, resume and fork answers (api) and
`thread/settings/updated` (threads) report it by the same rule, as codex 0.169 does (observed
on the binary):
- a sandbox chosen by `thread/settings/update.permissions` reports that profile's id;
- one chosen by an explicit `sandboxPolicy` reports none;
- otherwise the built-in profile of the sandbox, when it is of the configured default's kind
  (`sandbox_mode`), and none when a request chose another one (the thread's start, or a stored
  thread started with another sandbox).
"""

from __future__ import annotations

from app_server.settings import ResolvedSettings
from protocol.types import (
    ActivePermissionProfile,
    DangerFullAccessSandboxPolicy,
    ReadOnlySandboxPolicy,
    SandboxPolicy,
    WorkspaceWriteSandboxPolicy,
)

BUILTIN_PROFILES = (":read-only", ":workspace", ":danger-full-access")
"""Codex 0.169's built-in profile ids, in its order (`permissionProfile/list`)."""


def builtin_profile(sandbox: SandboxPolicy) -> ActivePermissionProfile | None:
    """The built-in profile a sandbox policy is; none for an external sandbox."""
    if isinstance(sandbox, ReadOnlySandboxPolicy):
        return ActivePermissionProfile(id=BUILTIN_PROFILES[0])
    if isinstance(sandbox, WorkspaceWriteSandboxPolicy):
        return ActivePermissionProfile(id=BUILTIN_PROFILES[1])
    if isinstance(sandbox, DangerFullAccessSandboxPolicy):
        return ActivePermissionProfile(id=BUILTIN_PROFILES[2])
    return None


def active_permission_profile(
    settings: ResolvedSettings, default_sandbox: SandboxPolicy
) -> ActivePermissionProfile | None:
    """The profile a thread with these settings reports (see the module docstring)."""
    if settings.permission_profile is not None:
        return ActivePermissionProfile(id=settings.permission_profile)
    if settings.sandbox_from_policy or settings.sandbox.type != default_sandbox.type:
        return None
    return builtin_profile(settings.sandbox)
