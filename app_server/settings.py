"""Thread settings: model, provider, cwd, approval and sandbox policy, resolved in layers.

Layers, lowest first: built-in defaults < `config.toml` < `-c` overrides < the `config` object of
`thread/start`/`resume`/`fork` < their explicit fields (`model`, `cwd`, …). A resumed thread
starts from what its rollout last recorded (the last `turn_context`) instead of the defaults.
The result is one immutable `ThreadSettings`; `turn/start` overrides produce a new one.

Sandbox policies have two spellings: the wire one (`{"type": "workspaceWrite", "writableRoots":
…}`) and Codex's on-disk one in `turn_context.sandbox_policy` (`{"type": "workspace-write",
"writable_roots": …}`); both conversions live here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from app_server.config import lookup, with_overrides
from app_server.store.records import ThreadRecord
from protocol.types import (
    AskForApproval,
    DangerFullAccessSandboxPolicy,
    ExternalSandboxSandboxPolicy,
    ReadOnlySandboxPolicy,
    SandboxMode,
    SandboxPolicy,
    WorkspaceWriteSandboxPolicy,
)

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-5.1-codex"
DEFAULT_MODEL_PROVIDER = "openai"
DEFAULT_APPROVAL_POLICY: AskForApproval = "on-request"
DEFAULT_SANDBOX_MODE: SandboxMode = "read-only"
DEFAULT_APPROVALS_REVIEWER = "user"

_APPROVAL_POLICY: TypeAdapter[AskForApproval] = TypeAdapter(AskForApproval)
_SANDBOX_POLICY: TypeAdapter[SandboxPolicy] = TypeAdapter(SandboxPolicy)


@dataclass(frozen=True, slots=True)
class ThreadSettings:
    """Everything a turn needs to know about how the thread runs."""

    model: str
    model_provider: str
    cwd: str
    approval_policy: AskForApproval
    approvals_reviewer: str
    sandbox: SandboxPolicy
    reasoning_effort: str | None = None
    reasoning_summary: str | None = None
    service_tier: str | None = None
    base_instructions: str | None = None
    developer_instructions: str | None = None
    config: Mapping[str, Any] | None = None
    """The thread's effective config table (server config with the thread's `config` applied)."""

    @property
    def runtime_workspace_roots(self) -> list[str]:
        return [self.cwd]


@dataclass(frozen=True, slots=True)
class SettingsOverrides:
    """The settings fields a `thread/start`, `thread/resume` or `thread/fork` request may carry."""

    model: str | None = None
    model_provider: str | None = None
    cwd: str | None = None
    approval_policy: AskForApproval | None = None
    approvals_reviewer: str | None = None
    sandbox: SandboxMode | None = None
    config: Mapping[str, Any] | None = None
    base_instructions: str | None = None
    developer_instructions: str | None = None
    service_tier: str | None = None

    @classmethod
    def from_params(cls, params: object) -> SettingsOverrides:
        """Pick the settings fields out of any of the three params models."""
        return cls(**{name: getattr(params, name, None) for name in cls.__dataclass_fields__})


def resolve_cwd(value: str | None, server_cwd: Path) -> str:
    """An absolute, normalized cwd; relative values are resolved against the server's cwd."""
    if not value:
        return str(server_cwd)
    return os.path.normpath(server_cwd / Path(value).expanduser())


LEGACY_APPROVAL_POLICIES = {"on-failure": "on-request"}
"""Config spellings older codex versions accepted, and what they mean now (0.169 dropped
`on-failure`: run sandboxed, ask when the model wants out — which `on-request` does)."""


def approval_policy_from(value: object, fallback: AskForApproval) -> AskForApproval:
    if isinstance(value, str):
        value = LEGACY_APPROVAL_POLICIES.get(value, value)
    try:
        return _APPROVAL_POLICY.validate_python(value)
    except ValidationError:
        log.warning("ignoring invalid approval policy %r", value)
        return fallback


def sandbox_from_mode(mode: str, config: Mapping[str, Any]) -> SandboxPolicy:
    """The wire policy for a `SandboxMode`, with `[sandbox_workspace_write]` options applied."""
    if mode == "danger-full-access":
        return DangerFullAccessSandboxPolicy()
    if mode == "workspace-write":
        options = lookup(config, "sandbox_workspace_write", {}) or {}
        roots = options.get("writable_roots") if isinstance(options, Mapping) else None
        return WorkspaceWriteSandboxPolicy(
            writable_roots=[str(r) for r in roots] if isinstance(roots, list) else [],
            network_access=bool(lookup(config, "sandbox_workspace_write.network_access", False)),
            exclude_tmpdir_env_var=bool(
                lookup(config, "sandbox_workspace_write.exclude_tmpdir_env_var", False)
            ),
            exclude_slash_tmp=bool(
                lookup(config, "sandbox_workspace_write.exclude_slash_tmp", False)
            ),
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


def default_settings(config: Mapping[str, Any], server_cwd: Path) -> ThreadSettings:
    """Settings of a new thread before any request field is applied."""
    return ThreadSettings(
        model=str(lookup(config, "model") or DEFAULT_MODEL),
        model_provider=str(lookup(config, "model_provider") or DEFAULT_MODEL_PROVIDER),
        cwd=str(server_cwd),
        approval_policy=approval_policy_from(
            lookup(config, "approval_policy", DEFAULT_APPROVAL_POLICY), DEFAULT_APPROVAL_POLICY
        ),
        approvals_reviewer=DEFAULT_APPROVALS_REVIEWER,
        sandbox=sandbox_from_mode(
            str(lookup(config, "sandbox_mode", DEFAULT_SANDBOX_MODE)), config
        ),
        reasoning_effort=lookup(config, "model_reasoning_effort"),
        reasoning_summary=lookup(config, "model_reasoning_summary"),
        base_instructions=lookup(config, "base_instructions"),
        developer_instructions=lookup(config, "developer_instructions"),
        config=config,
    )


def persisted_settings(
    record: ThreadRecord, config: Mapping[str, Any], server_cwd: Path
) -> ThreadSettings:
    """Settings of a stored thread: what its rollout last recorded, over the defaults."""
    base = default_settings(config, server_cwd)
    approval: AskForApproval = base.approval_policy
    if record.approval_mode:
        raw: object = record.approval_mode
        if record.approval_mode.startswith("{"):
            raw = orjson.loads(record.approval_mode)
        approval = approval_policy_from(raw, base.approval_policy)
    return replace(
        base,
        model=record.model or base.model,
        model_provider=record.model_provider or base.model_provider,
        cwd=record.cwd or base.cwd,
        approval_policy=approval,
        sandbox=sandbox_from_disk(record.sandbox_policy) or base.sandbox,
        reasoning_effort=record.reasoning_effort or base.reasoning_effort,
    )


def apply_overrides(
    base: ThreadSettings,
    overrides: SettingsOverrides,
    server_config: Mapping[str, Any],
    server_cwd: Path,
) -> ThreadSettings:
    """`base` with a request's `config` object and explicit fields applied."""
    settings = base
    config: Mapping[str, Any] = base.config or server_config
    if overrides.config:
        config = with_overrides(config, overrides.config)
        settings = replace(
            settings,
            config=config,
            model=str(overrides.config.get("model") or settings.model),
            model_provider=str(overrides.config.get("model_provider") or settings.model_provider),
            reasoning_effort=overrides.config.get(
                "model_reasoning_effort", settings.reasoning_effort
            ),
        )
        if "approval_policy" in overrides.config:
            settings = replace(
                settings,
                approval_policy=approval_policy_from(
                    overrides.config["approval_policy"], settings.approval_policy
                ),
            )
        if "sandbox_mode" in overrides.config:
            settings = replace(
                settings, sandbox=sandbox_from_mode(str(overrides.config["sandbox_mode"]), config)
            )
    if overrides.model:
        settings = replace(settings, model=overrides.model)
    if overrides.model_provider:
        settings = replace(settings, model_provider=overrides.model_provider)
    if overrides.cwd:
        settings = replace(settings, cwd=resolve_cwd(overrides.cwd, server_cwd))
    if overrides.approval_policy is not None:
        settings = replace(settings, approval_policy=overrides.approval_policy)
    if overrides.approvals_reviewer:
        settings = replace(settings, approvals_reviewer=overrides.approvals_reviewer)
    if overrides.sandbox:
        settings = replace(settings, sandbox=sandbox_from_mode(overrides.sandbox, config))
    if overrides.base_instructions is not None:
        settings = replace(settings, base_instructions=overrides.base_instructions)
    if overrides.developer_instructions is not None:
        settings = replace(settings, developer_instructions=overrides.developer_instructions)
    if overrides.service_tier is not None:
        settings = replace(settings, service_tier=overrides.service_tier)
    return settings
