"""A `thread/start`, `thread/resume` or `thread/fork` request's settings, applied on top of
the thread's starting settings (`app_server.settings`).

The request's `config` object is the layer above the server's config; its explicit fields
(`model`, `cwd`, `sandbox`, …) are above that, and their origins are recorded under codex's
config keys. The `config` object goes through the same model as `config.toml`, but an invalid
value there refuses the request with -32602 naming the key, instead of a warning and the
default: the client that sent it is waiting for the answer and can fix it, a thread silently
running on other settings than asked would be worse, and 0.169 refuses such a request too.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from msgspec import Struct
from msgspec.structs import replace

from app_server.config import THREAD_ORIGIN, ConfigLayer, validate_config
from app_server.errors import InvalidParams
from app_server.sandbox_policy import sandbox_from_mode
from app_server.settings import ResolvedSettings, resolve_cwd
from protocol.types import AskForApproval, SandboxMode

MAX_REPORTED_CONFIG_PROBLEMS = 10
"""Invalid keys of a thread's `config` named in one error; more are counted, so a client that
sends thousands of bad keys gets a readable message, not a megabyte."""


class SettingsOverrides(Struct, frozen=True):
    """The settings fields a `thread/start`, `thread/resume` or `thread/fork` request may carry."""

    model: str | None = None
    model_provider: str | None = None
    cwd: str | None = None
    approval_policy: AskForApproval | None = None
    approvals_reviewer: str | None = None
    sandbox: SandboxMode | None = None
    config: ConfigLayer | None = None
    """The request's `config` object, checked, as a thread layer."""
    base_instructions: str | None = None
    developer_instructions: str | None = None
    service_tier: str | None = None

    @classmethod
    def from_params(cls, params: object) -> SettingsOverrides:
        """Pick the settings fields out of any of the three params models; raises
        `InvalidParams` naming every invalid value of the `config` object (nothing happened yet,
        so a refused request changes nothing)."""
        fields = {name: getattr(params, name, None) for name in cls.__struct_fields__}
        fields["config"] = thread_config_layer(fields["config"])
        return cls(**fields)


def thread_config_layer(values: Mapping[str, Any] | None) -> ConfigLayer | None:
    """A request's `config` object (dotted keys, as `-c`) as a checked thread layer."""
    if not values:
        return None
    layer = ConfigLayer.from_dotted(THREAD_ORIGIN, values)
    invalid = validate_config(layer.table()).invalid
    if invalid:
        parts = [f"`config.{bad.key}`: {bad.details}" for bad in invalid]
        more = len(parts) - MAX_REPORTED_CONFIG_PROBLEMS
        parts = parts[:MAX_REPORTED_CONFIG_PROBLEMS]
        if more > 0:
            parts.append(f"and {more} more problem(s)")
        raise InvalidParams("Invalid params: " + "; ".join(parts))
    return layer


def apply_overrides(
    base: ResolvedSettings, overrides: SettingsOverrides, server_cwd: Path
) -> ResolvedSettings:
    """`base` with a request's `config` object and explicit fields applied."""
    settings = base
    if overrides.config is not None:
        settings = _with_thread_config(settings, overrides.config)
    requested: dict[str, Any] = {}
    if overrides.model:
        requested["model"] = overrides.model
    if overrides.model_provider:
        requested["model_provider"] = overrides.model_provider
    if overrides.cwd:
        requested["cwd"] = resolve_cwd(overrides.cwd, server_cwd)
    if overrides.approval_policy is not None:
        requested["approval_policy"] = overrides.approval_policy
    if overrides.approvals_reviewer:
        requested["approvals_reviewer"] = overrides.approvals_reviewer
    if overrides.sandbox:
        options = settings.config.toml.sandbox_workspace_write
        requested["sandbox"] = sandbox_from_mode(overrides.sandbox, options)
    if overrides.base_instructions is not None:
        requested["base_instructions"] = overrides.base_instructions
    if overrides.developer_instructions is not None:
        requested["developer_instructions"] = overrides.developer_instructions
    if overrides.service_tier is not None:
        requested["service_tier"] = overrides.service_tier
    return settings.with_requested(THREAD_ORIGIN, **requested)


def _with_thread_config(settings: ResolvedSettings, layer: ConfigLayer) -> ResolvedSettings:
    """The thread's config layer applied, and the settings its keys decide updated."""
    config = settings.config.with_layer(layer)
    toml = config.toml
    sets = {path[0] for path, _ in layer.assignments if len(path) == 1}
    updates: dict[str, Any] = {"config": config}
    if "model" in sets and toml.model:
        updates["model"] = toml.model
    if "model_provider" in sets:
        updates["model_provider"] = toml.model_provider
    if "model_reasoning_effort" in sets:
        updates["reasoning_effort"] = toml.model_reasoning_effort
    if "approval_policy" in sets:
        updates["approval_policy"] = toml.approval_policy
    if "sandbox_mode" in sets:
        updates["sandbox"] = sandbox_from_mode(toml.sandbox_mode, toml.sandbox_workspace_write)
    return replace(settings, **updates)
