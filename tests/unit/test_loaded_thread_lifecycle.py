"""A loaded thread's lifecycle: the moves the manager makes, and the ones that are bugs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from app_server.config import ServerConfig
from app_server.store.interface import ThreadWriter
from app_server.store.memory import MemoryThreadStore
from app_server.threads.lifecycle import IllegalTransition, Lifecycle
from app_server.threads.loaded_thread import LoadedThread
from app_server.threads.manager import ThreadManager
from protocol.types import ThreadStartParams
from tests.unit.test_manager_unloaded_writer import QuietConnection


async def _manager(tmp_path: Path) -> ThreadManager:
    store = MemoryThreadStore()
    await store.start()
    return ThreadManager(store, ServerConfig(tmp_path), server_cwd=tmp_path)


async def _thread(tmp_path: Path, lifecycle: Lifecycle, **kwargs: Any) -> LoadedThread:
    """A thread in `lifecycle`, with the record and settings the manager gives a new one."""
    manager = await _manager(tmp_path)
    thread = manager.start(
        QuietConnection(), ThreadStartParams(), history_mode="paginated", ephemeral=False
    )
    return LoadedThread(thread.record, thread.settings, lifecycle, **kwargs)


async def test_a_new_thread_is_unsaved(tmp_path: Path) -> None:
    thread = (await _manager(tmp_path)).start(
        QuietConnection(), ThreadStartParams(), history_mode="paginated", ephemeral=False
    )
    assert thread.lifecycle is Lifecycle.UNSAVED
    assert not thread.persisted


async def test_an_ephemeral_thread_is_ephemeral(tmp_path: Path) -> None:
    thread = (await _manager(tmp_path)).start(
        QuietConnection(), ThreadStartParams(), history_mode="paginated", ephemeral=True
    )
    assert thread.lifecycle is Lifecycle.EPHEMERAL
    assert thread.ephemeral
    assert not thread.persisted


async def test_the_first_write_creates_the_rollout(tmp_path: Path) -> None:
    manager = await _manager(tmp_path)
    thread = manager.start(
        QuietConnection(), ThreadStartParams(), history_mode="paginated", ephemeral=False
    )
    writer = await manager.writer_for(thread)
    assert thread.lifecycle is Lifecycle.CREATED
    assert thread.persisted
    assert not thread.has_stored_history
    assert thread.writer is writer


async def test_an_ephemeral_thread_gets_no_writer(tmp_path: Path) -> None:
    manager = await _manager(tmp_path)
    thread = manager.start(
        QuietConnection(), ThreadStartParams(), history_mode="paginated", ephemeral=True
    )
    assert await manager.writer_for(thread) is None
    assert thread.lifecycle is Lifecycle.EPHEMERAL


async def test_unloading_releases_the_thread(tmp_path: Path) -> None:
    manager = await _manager(tmp_path)
    thread = manager.start(
        QuietConnection(), ThreadStartParams(), history_mode="paginated", ephemeral=False
    )
    await manager.writer_for(thread)
    await manager.unloader.unload(thread)
    assert thread.lifecycle is Lifecycle.RELEASED
    assert thread.writer is None
    assert not thread.persisted


async def test_shutdown_releases_every_thread(tmp_path: Path) -> None:
    manager = await _manager(tmp_path)
    thread = manager.start(
        QuietConnection(), ThreadStartParams(), history_mode="paginated", ephemeral=True
    )
    await manager.unloader.close()
    assert thread.lifecycle is Lifecycle.RELEASED


async def test_a_resumed_thread_has_stored_history(tmp_path: Path) -> None:
    manager = await _manager(tmp_path)
    thread = manager.start(
        QuietConnection(), ThreadStartParams(), history_mode="paginated", ephemeral=False
    )
    await manager.writer_for(thread)
    await manager.unloader.unload(thread)
    resumed, _ = await manager.resume(
        QuietConnection(connection_id=2), thread.id, ThreadStartParams()
    )
    assert resumed.lifecycle is Lifecycle.STORED
    assert resumed.has_stored_history
    assert not resumed.multi_agent_known


@pytest.mark.parametrize("lifecycle", [Lifecycle.CREATED, Lifecycle.STORED])
async def test_a_stored_rollout_is_not_created_again(tmp_path: Path, lifecycle: Lifecycle) -> None:
    thread = await _thread(tmp_path, lifecycle)
    with pytest.raises(IllegalTransition):
        thread.rollout_created(_writer_stub())


async def test_an_ephemeral_thread_never_gets_a_rollout(tmp_path: Path) -> None:
    thread = await _thread(tmp_path, Lifecycle.EPHEMERAL)
    with pytest.raises(IllegalTransition):
        thread.rollout_created(_writer_stub())


async def test_a_released_thread_is_not_released_again(tmp_path: Path) -> None:
    thread = await _thread(tmp_path, Lifecycle.UNSAVED)
    thread.released()
    with pytest.raises(IllegalTransition):
        thread.released()


async def test_a_released_thread_never_gets_a_rollout(tmp_path: Path) -> None:
    thread = await _thread(tmp_path, Lifecycle.UNSAVED)
    thread.released()
    with pytest.raises(IllegalTransition):
        thread.rollout_created(_writer_stub())
    assert thread.writer is None


async def test_a_failed_move_leaves_the_state_unchanged(tmp_path: Path) -> None:
    thread = await _thread(tmp_path, Lifecycle.STORED)
    with pytest.raises(IllegalTransition):
        thread.rollout_created(_writer_stub())
    assert thread.lifecycle is Lifecycle.STORED


async def test_a_resumed_thread_learns_its_multi_agent_version(tmp_path: Path) -> None:
    thread = await _thread(tmp_path, Lifecycle.STORED, multi_agent_known=False)
    thread.learn_multi_agent_version("v2")
    assert thread.multi_agent_known
    assert thread.multi_agent_version == "v2"


async def test_a_known_multi_agent_version_is_not_learnt_again(tmp_path: Path) -> None:
    thread = await _thread(tmp_path, Lifecycle.STORED, multi_agent_version="v1")
    with pytest.raises(IllegalTransition):
        thread.learn_multi_agent_version("v2")
    assert thread.multi_agent_version == "v1"


async def test_the_opening_context_is_taken_once(tmp_path: Path) -> None:
    thread = await _thread(tmp_path, Lifecycle.STORED, opening_context=True)
    assert thread.take_opening_context()
    assert not thread.take_opening_context()


def _writer_stub() -> ThreadWriter:
    """Any object: an illegal move raises before the writer is looked at."""
    return cast(ThreadWriter, object())
