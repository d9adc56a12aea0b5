"""`thread/settings/update`: change a loaded thread's settings for its next turns.

Codex 0.169 answers `{}` and then, only when a value really changed, sends
`thread/settings/updated` with the whole new settings and appends a `thread_settings_applied`
line to the thread's rollout (when the rollout exists: a thread without a turn records its
settings with its first turn). The change reaches the model with the next turn (its
`turn_context` line, world-state update and model request); a running turn keeps what it has.
After a restart the recorded line gives `thread/resume` the model, effort and approval policy.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app_server.config.layers import TURN_ORIGIN
from app_server.errors import InvalidRequest
from app_server.rollout import settings_lines
from app_server.sandbox_policy import sandbox_from_mode
from app_server.settings import ResolvedSettings, resolve_cwd
from app_server.threads.loaded_thread import LOCAL_ENVIRONMENT_ID
from app_server.threads.manager import ThreadManager
from app_server.threads.setting_updates import collaboration_updates, shared_updates
from app_server.threads.settings_report import wire_settings
from protocol.types import (
    SandboxMode,
    ThreadSettingsUpdatedNotification,
    ThreadSettingsUpdateParams,
    TurnEnvironmentParams,
)

PERMISSION_PROFILE_MODES: dict[str, SandboxMode] = {
    ":read-only": "read-only",
    ":workspace": "workspace-write",
    ":danger-full-access": "danger-full-access",
}
"""The built-in permission profiles (`permissionProfile/list`) → the sandbox mode each means."""

UNKNOWN_PROFILE_MESSAGE = (
    "failed to load configuration: default_permissions requires a `[permissions]` table"
)
"""Codex 0.169's refusal of a profile id that is not built in (named `[permissions]` profiles
are not supported here, so every other id gets it)."""

UNKNOWN_ENVIRONMENT_MESSAGE = "unknown turn environment id"
"""Codex 0.169's refusal of an environment id it does not know (here: any but the local one)."""

CLEARED_SERVICE_TIER = "default"
"""What codex 0.169 reports as the service tier after a `serviceTier: null` update."""


def _requested(
    settings: ResolvedSettings, params: ThreadSettingsUpdateParams, server_cwd: Path
) -> dict[str, Any]:
    """The `ResolvedSettings` fields the request sets (omitted and null fields keep theirs,
    except `serviceTier`, which null clears)."""
    if params.permissions is not None and params.sandbox_policy is not None:
        raise InvalidRequest("`permissions` cannot be combined with `sandboxPolicy`")
    updates = shared_updates(params)
    if params.model is not None:
        updates["model"] = params.model
    if params.permissions is not None:
        mode = PERMISSION_PROFILE_MODES.get(params.permissions)
        if mode is None:
            raise InvalidRequest(UNKNOWN_PROFILE_MESSAGE)
        updates["sandbox"] = sandbox_from_mode(mode, settings.config.toml.sandbox_workspace_write)
        updates.update(permission_profile=params.permissions, sandbox_from_policy=False)
    if params.sandbox_policy is not None:
        updates.update(permission_profile=None, sandbox_from_policy=True)
    if params.personality is not None:
        updates["personality"] = params.personality
    if params.disabled_plugin_ids is not None:
        updates["disabled_plugin_ids"] = tuple(params.disabled_plugin_ids)
    if "service_tier" in params.model_fields_set:
        updates["service_tier"] = params.service_tier or CLEARED_SERVICE_TIER
    if params.cwd is not None:
        updates["cwd"] = resolve_cwd(params.cwd, server_cwd)
    if params.environments is not None:
        updates.update(_environment_updates(params.environments, server_cwd))
    updates.update(collaboration_updates(params))
    return updates


def _environment_updates(
    environments: list[TurnEnvironmentParams], server_cwd: Path
) -> dict[str, Any]:
    """`environments: []` selects none; otherwise the one local environment, whose `cwd`
    becomes the thread's (there is no other environment here)."""
    if not environments:
        return {"environments_selected": False}
    for environment in environments:
        if environment.environment_id != LOCAL_ENVIRONMENT_ID:
            raise InvalidRequest(f"{UNKNOWN_ENVIRONMENT_MESSAGE} `{environment.environment_id}`")
    return {
        "environments_selected": True,
        "cwd": resolve_cwd(environments[0].cwd, server_cwd),
    }


class ThreadSettingsUpdates:
    """Applies `thread/settings/update` to loaded threads."""

    def __init__(self, manager: ThreadManager) -> None:
        self._manager = manager

    async def update(
        self, thread_id: str, params: ThreadSettingsUpdateParams
    ) -> Callable[[], None]:
        """Apply the request to the loaded thread; returns what to do once answered (announce
        the new settings, when they changed). Refused, changing nothing, for a thread not
        loaded or an invalid combination."""
        thread = self._manager.require_loaded(thread_id)
        settings = thread.settings.with_requested(
            TURN_ORIGIN, **_requested(thread.settings, params, self._manager.server_cwd)
        )
        if settings == thread.settings:
            return lambda: None
        thread.apply_settings(settings)
        writer = thread.writer
        if writer is not None:
            writer.append(
                [
                    settings_lines.thread_settings_applied(
                        thread.id,
                        model=settings.model,
                        model_provider=settings.model_provider,
                        approval_policy=settings_lines.approval_policy_to_disk(
                            settings.approval_policy
                        ),
                        approvals_reviewer=settings.approvals_reviewer,
                        cwd=settings.cwd,
                        effort=settings.reasoning_effort,
                        mode=settings.collaboration_mode,
                        developer_instructions=settings.collaboration_instructions,
                        personality=settings.personality,
                        disabled_plugin_ids=settings.disabled_plugin_ids,
                    )
                ]
            )
            await writer.flush()  # answered means recorded: a restart right after keeps it

        def announce() -> None:
            self._manager.publish(
                thread,
                ThreadSettingsUpdatedNotification(
                    thread_id=thread.id,
                    thread_settings=wire_settings(settings, self._manager.default_sandbox()),
                ),
            )

        return announce
