"""`thread/metadata/update`: the thread with its Git metadata and Daybreak choice patched.

Codex 0.169 keeps these in its SQLite state only (no rollout line, no notification). Here the
patch is applied to the answered thread but not yet stored: our index row is refolded from the
rollout on every write, so a stored patch needs its own table (README, compatibility table).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from app_server.errors import NotFound
from app_server.store.records import thread_from_record
from app_server.threads.manager import ThreadManager
from protocol.types import GitInfo, Thread


@dataclass(frozen=True, slots=True)
class GitInfoPatch:
    """The Git fields a request sets (`branch`, `sha`, `origin_url`); None clears one."""

    values: Mapping[str, str | None]


class ThreadMetadataUpdates:
    """Applies `thread/metadata/update` to loaded and stored threads."""

    def __init__(self, manager: ThreadManager) -> None:
        self._manager = manager

    async def update(
        self, thread_id: str, *, git: GitInfoPatch | None, daybreak_enabled: bool | None
    ) -> Thread:
        """The thread as codex answers it: the stored view (`canAcceptDirectInput` null), with
        a loaded thread's status and environments."""
        loaded = self._manager.loaded(thread_id)
        record = await self._manager.reads.record(thread_id)
        if record is None:
            if loaded is None:
                raise NotFound(f"thread not found: {thread_id}")
            record = loaded.record
        if git is not None:
            record = replace(
                record,
                git_branch=git.values.get("branch", record.git_branch),
                git_sha=git.values.get("sha", record.git_sha),
                git_origin_url=git.values.get("origin_url", record.git_origin_url),
            )
        thread = thread_from_record(record, self._manager.data_dir)
        update: dict[str, object] = {}
        if loaded is not None:  # a loaded thread's status and environments, as codex answers
            live = loaded.thread(self._manager.data_dir)
            update.update(status=live.status, environments=live.environments)
        if git is not None:
            update["git_info"] = GitInfo(
                branch=record.git_branch, sha=record.git_sha, origin_url=record.git_origin_url
            )
        if daybreak_enabled is not None:
            update["daybreak_enabled"] = daybreak_enabled
        return thread.model_copy(update=update)
