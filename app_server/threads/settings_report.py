"""`thread/settings/updated`'s `ThreadSettings`: a loaded thread's settings as codex reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app_server.settings import ResolvedSettings
from app_server.threads.loaded_thread import LOCAL_ENVIRONMENT_ID
from app_server.threads.permission_profile import active_permission_profile
from protocol import types as wire
from protocol.types import (
    SandboxPolicy,
    ThreadEnvironment,
)

if TYPE_CHECKING:
    from protocol.types import CollaborationMode, ThreadSettings


def wire_collaboration_mode(settings: ResolvedSettings) -> CollaborationMode:
    """The thread's collaboration mode as codex reports it (`thread/settings/updated`,
    `thread/resume`): its kind, with the thread's model, effort and instructions."""
    return wire.CollaborationMode(
        mode=settings.collaboration_mode,
        settings=wire.Settings(
            model=settings.model,
            reasoning_effort=settings.reasoning_effort,
            developer_instructions=(
                settings.collaboration_instructions or settings.developer_instructions
            ),
        ),
    )


def wire_settings(settings: ResolvedSettings, default_sandbox: SandboxPolicy) -> ThreadSettings:
    """`thread/settings/updated`'s settings, as codex 0.169 reports them: the one local
    environment (none after `environments: []`), the active permission profile, and
    `multiAgentMode` always `explicitRequestOnly` (deprecated and ignored there)."""
    environments = (
        [
            ThreadEnvironment(
                environment_id=LOCAL_ENVIRONMENT_ID,
                cwd=settings.cwd,
                runtime_workspace_roots=settings.runtime_workspace_roots,
            )
        ]
        if settings.environments_selected
        else []
    )
    return wire.ThreadSettings(
        active_permission_profile=active_permission_profile(settings, default_sandbox),
        approval_policy=settings.approval_policy,
        approvals_reviewer=settings.approvals_reviewer,  # type: ignore[arg-type]
        collaboration_mode=wire_collaboration_mode(settings),
        cwd=settings.cwd,
        disabled_plugin_ids=list(settings.disabled_plugin_ids),
        effort=settings.reasoning_effort,
        environments=environments,
        model=settings.model,
        model_provider=settings.model_provider,
        multi_agent_mode="explicitRequestOnly",
        personality=settings.personality,
        sandbox_policy=settings.sandbox,
        service_tier=settings.service_tier,
        summary=settings.reasoning_summary,  # type: ignore[arg-type]
    )
