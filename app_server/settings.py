"""Thread settings: model, provider, cwd, approval and sandbox policy, resolved in layers.

Layers, lowest first: built-in defaults < `config.toml` < `-c` overrides < the `config` object of
`thread/start`/`resume`/`fork` < their explicit fields (`model`, `cwd`, …). A resumed thread
starts from what its rollout last recorded (the last `turn_context`) instead of the defaults.
The result is one immutable `ResolvedSettings`; `turn/start` overrides produce a new one.

Config values are read from the typed config only (`app_server.config`). Here: the settings
record, a new thread's defaults and a stored thread's recorded settings. A request's `config`
object and explicit fields are applied by `app_server.settings_overrides`; a sandbox policy's
spellings (wire, on disk) and the policy a `sandbox_mode` means are `app_server.sandbox_policy`'s;
a model's reasoning efforts are `app_server.model_efforts`'.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from msgspec import Struct, field
from msgspec.structs import replace
from pydantic import TypeAdapter, ValidationError

from app_server.config import EffectiveConfig, Origin, default_config
from app_server.config.defaults import DEFAULT_MODEL
from app_server.config.value_types import modern_approval_policy
from app_server.sandbox_policy import sandbox_from_disk, sandbox_from_mode
from app_server.store.records import ThreadRecord
from protocol.types import AskForApproval, ModeKind, Personality, SandboxPolicy
from protocol.wire_model import DEFERRED

log = logging.getLogger(__name__)

DEFAULT_APPROVALS_REVIEWER = "user"

SETTING_KEYS = {
    "model": "model",
    "model_provider": "model_provider",
    "reasoning_effort": "model_reasoning_effort",
    "reasoning_summary": "model_reasoning_summary",
    "approval_policy": "approval_policy",
    "sandbox": "sandbox_mode",
    "base_instructions": "base_instructions",
    "developer_instructions": "developer_instructions",
}
"""`ResolvedSettings` fields that a config key also sets → that key, so the origin of a value a
request field set (thread/start `model`, turn/start `effort`) is reported under codex's key."""

_APPROVAL_POLICY: TypeAdapter[AskForApproval] = TypeAdapter(AskForApproval, config=DEFERRED)


class ResolvedSettings(Struct, frozen=True):
    """Everything a turn needs to know about how the thread runs, resolved from every layer.

    Not the wire `protocol.types.ThreadSettings` (what `thread/settings/updated` reports, made
    from this by `wire_settings`): this one also carries the effective config and origins."""

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
    collaboration_mode: ModeKind = "default"
    """The collaboration mode kind a `collaborationMode` (settings update, turn) chose last."""
    collaboration_instructions: str | None = None
    """That mode's developer instructions (plan mode's built-in ones when it gave none), told
    to the model in a `<collaboration_mode>` developer message; None: no such message."""
    personality: Personality | None = None
    """Saved as codex 0.169 saves it (deprecated there: no style is selected by it)."""
    disabled_plugin_ids: tuple[str, ...] = ()
    """Saved and reported as codex 0.169 does (no plugins run here, so nothing is filtered)."""
    environments_selected: bool = True
    """False after `thread/settings/update.environments: []` (codex then reports none)."""
    permission_profile: str | None = None
    """The `permissions` profile id the sandbox was last chosen by (None: config or policy)."""
    sandbox_from_policy: bool = False
    """Whether the sandbox was last set by an explicit `sandboxPolicy` (then no profile)."""
    config: EffectiveConfig = field(default_factory=default_config)
    """The thread's effective config: the server's, with the thread's `config` object on top."""
    requested: Mapping[str, Origin] = field(default_factory=dict)
    """Config keys whose value a request field set (see `SETTING_KEYS`) → that request's layer.
    Not compared (`__eq__`): the same value asked for again is no change of settings."""

    def _compared(self) -> tuple[object, ...]:
        """The field values equality looks at: all but `requested`."""
        return tuple(getattr(self, name) for name in self.__struct_fields__ if name != "requested")

    def __eq__(self, other: object) -> bool:
        if type(other) is not ResolvedSettings:
            return NotImplemented
        return self._compared() == other._compared()

    __hash__ = None  # type: ignore[assignment]  # holds pydantic models: never hashable

    @property
    def runtime_workspace_roots(self) -> list[str]:
        return [self.cwd]

    def origin(self, key: str) -> Origin:
        """Where the thread's value of config `key` came from."""
        return self.requested.get(key) or self.config.origin(key)

    def with_requested(self, origin: Origin, **updates: Any) -> ResolvedSettings:
        """These settings with fields a request set, their origins recorded."""
        if not updates:
            return self
        keys = {SETTING_KEYS[name]: origin for name in updates if name in SETTING_KEYS}
        return replace(self, requested={**self.requested, **keys}, **updates)


def resolve_cwd(value: str | None, server_cwd: Path) -> str:
    """An absolute, normalized cwd; relative values are resolved against the server's cwd."""
    if not value:
        return str(server_cwd)
    return os.path.normpath(server_cwd / Path(value).expanduser())


def approval_policy_from(value: object, fallback: AskForApproval) -> AskForApproval:
    """A recorded approval policy (a rollout's `approval_mode`); legacy spellings mean 0.169's."""
    try:
        return _APPROVAL_POLICY.validate_python(modern_approval_policy(value))
    except ValidationError:
        log.warning("ignoring invalid approval policy %r", value)
        return fallback


def default_settings(config: EffectiveConfig, server_cwd: Path) -> ResolvedSettings:
    """Settings of a new thread before any request field is applied."""
    toml = config.toml
    return ResolvedSettings(
        model=toml.model or DEFAULT_MODEL,
        model_provider=toml.model_provider,
        cwd=str(server_cwd),
        approval_policy=toml.approval_policy,
        approvals_reviewer=DEFAULT_APPROVALS_REVIEWER,
        sandbox=sandbox_from_mode(toml.sandbox_mode, toml.sandbox_workspace_write),
        reasoning_effort=toml.model_reasoning_effort,
        reasoning_summary=toml.model_reasoning_summary,
        base_instructions=toml.base_instructions,
        developer_instructions=toml.developer_instructions,
        config=config,
    )


def persisted_settings(
    record: ThreadRecord, config: EffectiveConfig, server_cwd: Path
) -> ResolvedSettings:
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


_PERSONALITIES = ("none", "friendly", "pragmatic")
_MODE_KINDS = ("default", "plan")


def with_saved_settings(
    settings: ResolvedSettings, saved: Mapping[str, Any] | None
) -> ResolvedSettings:
    """A stored thread's settings with what its last `thread_settings_applied` saved beyond
    model and policies (codex 0.169 restores them on resume): personality, disabled plugin
    ids, collaboration mode kind and instructions. Unrecognized values are left out."""
    if not saved:
        return settings
    updates: dict[str, Any] = {}
    personality = saved.get("personality")
    if personality in _PERSONALITIES:
        updates["personality"] = personality
    plugins = saved.get("disabled_plugin_ids")
    if isinstance(plugins, list):
        updates["disabled_plugin_ids"] = tuple(p for p in plugins if isinstance(p, str))
    mode = saved.get("collaboration_mode")
    if isinstance(mode, Mapping) and mode.get("mode") in _MODE_KINDS:
        updates["collaboration_mode"] = mode["mode"]
        inner = mode.get("settings")
        instructions = inner.get("developer_instructions") if isinstance(inner, Mapping) else None
        updates["collaboration_instructions"] = (
            instructions if isinstance(instructions, str) else None
        )
    return replace(settings, **updates)
