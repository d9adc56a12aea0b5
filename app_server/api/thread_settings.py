"""`thread/settings/update`, `turn/settings/update` and `thread/metadata/update`.

Thin: canonical thread ids and codex 0.169's validation texts, then the threads layer.
- `thread/settings/update` answers `{}` first; `thread/settings/updated` follows only when a
  value changed (see `app_server.threads.thread_settings`).
- `turn/settings/update` is refused as codex 0.169 refuses it without its
  `step_model_switching` feature (which 0.169 cannot enable from an app-server client).
- `thread/metadata/update` patches the thread's Git metadata and Daybreak choice, keeps the
  patch (later reads show it, after a restart too) and answers the thread; no notification
  (as codex).
- `thread/memoryMode/set` answers `{}` for a thread that exists, as codex 0.169 does, and
  changes nothing: the mode only decides whether codex's memories feature may learn from the
  thread, and this server has no memories feature.
"""

from __future__ import annotations

from app_server.api.reply import Reply
from app_server.client_connection import ClientConnection
from app_server.errors import InvalidRequest
from app_server.store.errors import ThreadNotStored
from app_server.store.thread_marks import MetadataPatch
from app_server.threads.manager import ThreadManager, thread_id_param
from app_server.threads.thread_metadata import ThreadMetadataUpdates
from app_server.threads.thread_settings import ThreadSettingsUpdates
from protocol.types import (
    ThreadMemoryModeSetParams,
    ThreadMemoryModeSetResponse,
    ThreadMetadataUpdateParams,
    ThreadMetadataUpdateResponse,
    ThreadSettingsUpdateParams,
    ThreadSettingsUpdateResponse,
    TurnSettingsUpdateParams,
    TurnSettingsUpdateResponse,
)

GIT_INFO_FIELDS = (("branch", "branch"), ("sha", "sha"), ("origin_url", "originUrl"))
"""`ThreadMetadataGitInfoUpdateParams` fields → their wire names (codex's messages use those)."""


class ThreadSettingsHandlers:
    """Handlers of the settings and metadata update methods."""

    def __init__(self, manager: ThreadManager) -> None:
        self._manager = manager
        self._settings = ThreadSettingsUpdates(manager)
        self._metadata = ThreadMetadataUpdates(manager)

    async def settings_update(
        self, connection: ClientConnection, params: ThreadSettingsUpdateParams
    ) -> Reply:
        announce = await self._settings.update(thread_id_param(params.thread_id), params)
        return Reply(ThreadSettingsUpdateResponse(), then=announce)

    async def turn_settings_update(
        self, connection: ClientConnection, params: TurnSettingsUpdateParams
    ) -> TurnSettingsUpdateResponse:
        thread_id_param(params.thread_id)
        raise InvalidRequest("turn settings updates require the step_model_switching feature")

    async def metadata_update(
        self, connection: ClientConnection, params: ThreadMetadataUpdateParams
    ) -> ThreadMetadataUpdateResponse:
        thread_id = thread_id_param(params.thread_id)
        if (
            params.git_info is None
            and params.daybreak_enabled is None
            and params.project_id is None
        ):
            raise InvalidRequest("thread metadata update must include at least one field")
        git: dict[str, str | None] = {}
        if params.git_info is not None:
            given = params.git_info.model_fields_set
            if not given:
                raise InvalidRequest("gitInfo must include at least one field")
            for name, wire in GIT_INFO_FIELDS:
                if name not in given:
                    continue
                value = getattr(params.git_info, name)
                if value is not None and not value:
                    raise InvalidRequest(f"gitInfo.{wire} must not be empty")
                git[name] = value
        if params.project_id:
            raise InvalidRequest(f"project not found: {params.project_id}")
        thread = await self._metadata.update(
            thread_id, MetadataPatch(git=git, daybreak_enabled=params.daybreak_enabled)
        )
        return ThreadMetadataUpdateResponse(thread=thread)

    async def memory_mode_set(
        self, connection: ClientConnection, params: ThreadMemoryModeSetParams
    ) -> ThreadMemoryModeSetResponse:
        """`{}` for a loaded or stored thread; `no rollout found …` (codex's text) otherwise."""
        thread_id = thread_id_param(params.thread_id)
        if (
            self._manager.loaded(thread_id) is None
            and await self._manager.store.get(thread_id) is None
        ):
            raise ThreadNotStored(thread_id)
        return ThreadMemoryModeSetResponse()
