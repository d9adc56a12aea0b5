"""`thread/fork`: a new thread whose history starts with all of its source's (STORAGE.md §3.6).

The new thread takes the source's settings (the loaded thread's, else those its rollout saved)
with the request's overrides, its multi-agent generation, name and preview; a paginated source
is referenced by its history base (nothing copied), a legacy one has its lines copied. An
ephemeral fork writes nothing. The manager registers and subscribes what this builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app_server.agent.tools.catalog import multi_agent_version_for
from app_server.client_connection import ClientConnection
from app_server.ids import uuid7
from app_server.notification import now_ms
from app_server.rollout.session_meta import ForkOrigin, history_base
from app_server.settings import persisted_settings, with_saved_settings
from app_server.settings_overrides import SettingsOverrides
from app_server.store.errors import ThreadNotStored
from app_server.store.interface import ThreadWriter
from app_server.threads.git_info import collect_git_info, with_git
from app_server.threads.lifecycle import Lifecycle
from app_server.threads.loaded_thread import LoadedThread
from app_server.threads.session_meta import meta_version, new_thread_record, session_meta_line

if TYPE_CHECKING:
    from app_server.threads.manager import ThreadManager


async def create_fork(
    manager: ThreadManager,
    connection: ClientConnection,
    source_id: str,
    params: object,
    *,
    ephemeral: bool,
) -> LoadedThread:
    """The fork of `source_id`, its rollout written (unless `ephemeral`), not yet loaded."""
    overrides = SettingsOverrides.from_params(params)
    source = manager.loaded(source_id)
    record = await manager.reads.record(source_id)
    if record is None or record.archived:
        raise ThreadNotStored(source_id)
    history = await manager.reads.read_history(source_id)
    base = (
        source.settings
        if source is not None
        else with_saved_settings(
            persisted_settings(record, manager.config.effective, manager.server_cwd),
            history.saved_settings,
        )
    )
    settings = manager.resolve_settings(base, overrides)
    created_at_ms = now_ms()
    thread_id = uuid7(created_at_ms)
    paginated = record.history_mode == "paginated"
    fork = ForkOrigin(
        source_id,
        history_base(source_id, history.next_ordinal or 0, history.byte_size)
        if paginated
        else None,
    )
    new_record = new_thread_record(
        thread_id,
        created_at_ms=created_at_ms,
        settings=settings,
        originator=connection.client_name,
        history_mode=record.history_mode,
        rollout_path=manager.store.rollout_path_for(thread_id, created_at_ms),
        fork=fork,
        preview=record.preview,
        name=record.name,
        thread_source=getattr(params, "thread_source", None),
    )
    multi_agent_version = (
        source.multi_agent_version
        if source is not None and source.multi_agent_known
        else multi_agent_version_for(settings.config.toml)
    )
    window_id = uuid7()
    writer: ThreadWriter | None = None
    if not ephemeral:
        git = await collect_git_info(settings.cwd)
        new_record = with_git(new_record, git)
        writer = await manager.store.create_writer(
            thread_id,
            created_at_ms=created_at_ms,
            history_mode=record.history_mode,
            start_ordinal=(history.next_ordinal or 0) if paginated else 0,
        )
        writer.append(
            [
                session_meta_line(
                    new_record,
                    settings,
                    fork,
                    multi_agent_version=meta_version(multi_agent_version),
                    window_id=window_id,
                    git=git,
                )
            ]
        )
        if not paginated:
            writer.append(await manager.reads.copy_lines(source_id))
        await writer.sync()
        if record.name:
            await manager.store.set_name(thread_id, record.name)
        new_record = await manager.reads.record(thread_id) or new_record
    thread = LoadedThread(
        new_record,
        settings,
        Lifecycle.EPHEMERAL if ephemeral else Lifecycle.STORED,
        writer=writer,
        multi_agent_version=multi_agent_version,
        initial_window_id=window_id,
    )
    thread.history_initialization = "warm_fork" if source is not None else "cold_fork"
    return thread
