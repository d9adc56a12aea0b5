"""Sandbox policies: the one a `sandbox_mode` means, and the wire and on-disk spellings.

A policy has two spellings: the wire one (`{"type": "workspaceWrite", "writableRoots": …}`) and
Codex's on-disk one in `turn_context.sandbox_policy` (`{"type": "workspace-write",
"writable_roots": …}`). The thread settings (`app_server.settings`), the turn recorder and
`command/exec` all convert through here, so the spellings stay one mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from app_server.config.keys import SandboxWorkspaceWriteToml
from protocol.types import (
    DangerFullAccessSandboxPolicy,
    ExternalSandboxSandboxPolicy,
    ReadOnlySandboxPolicy,
    SandboxMode,
    SandboxPolicy,
    WorkspaceWriteSandboxPolicy,
)
from protocol.wire_model import DEFERRED

_SANDBOX_POLICY: TypeAdapter[SandboxPolicy] = TypeAdapter(SandboxPolicy, config=DEFERRED)


def sandbox_from_mode(mode: SandboxMode, options: SandboxWorkspaceWriteToml) -> SandboxPolicy:
    """The wire policy for a `SandboxMode`, with `[sandbox_workspace_write]` options applied."""
    if mode == "danger-full-access":
        return DangerFullAccessSandboxPolicy()
    if mode == "workspace-write":
        return WorkspaceWriteSandboxPolicy(
            writable_roots=list(options.writable_roots),
            network_access=options.network_access,
            exclude_tmpdir_env_var=options.exclude_tmpdir_env_var,
            exclude_slash_tmp=options.exclude_slash_tmp,
        )
    return ReadOnlySandboxPolicy()


def sandbox_to_disk(policy: SandboxPolicy) -> dict[str, Any]:
    """Codex's on-disk `turn_context.sandbox_policy` spelling of a wire policy."""
    if isinstance(policy, DangerFullAccessSandboxPolicy):
        return {"type": "danger-full-access"}
    if isinstance(policy, WorkspaceWriteSandboxPolicy):
        return {
            "type": "workspace-write",
            "writable_roots": list(policy.writable_roots),
            "network_access": policy.network_access,
            "exclude_tmpdir_env_var": policy.exclude_tmpdir_env_var,
            "exclude_slash_tmp": policy.exclude_slash_tmp,
        }
    if isinstance(policy, ExternalSandboxSandboxPolicy):
        return {"type": "external-sandbox", "network_access": policy.network_access}
    return {"type": "read-only"}


def sandbox_from_disk(value: object) -> SandboxPolicy | None:
    """The wire policy for an on-disk spelling (or a wire one); None if unrecognized."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    if not isinstance(value, Mapping):
        return None
    kind = value.get("type")
    if kind == "danger-full-access":
        return DangerFullAccessSandboxPolicy()
    if kind == "read-only":
        return ReadOnlySandboxPolicy(network_access=bool(value.get("network_access", False)))
    if kind == "workspace-write":
        return WorkspaceWriteSandboxPolicy(
            writable_roots=[str(r) for r in value.get("writable_roots") or []],
            network_access=bool(value.get("network_access", False)),
            exclude_tmpdir_env_var=bool(value.get("exclude_tmpdir_env_var", False)),
            exclude_slash_tmp=bool(value.get("exclude_slash_tmp", False)),
        )
    if kind == "external-sandbox":
        return ExternalSandboxSandboxPolicy(
            network_access=value.get("network_access", "restricted")
        )
    try:
        return _SANDBOX_POLICY.validate_python(value)
    except ValidationError:
        return None
