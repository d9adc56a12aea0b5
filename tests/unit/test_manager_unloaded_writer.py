"""A thread that was unloaded (archived, deleted, idle) never gets a new rollout writer.

Turn code may still hold the `LoadedThread` it looked up before an archive unloaded it (a
sub-agent's parent starting the child's next turn, a turn started while the archive ran). A new
writer for it would create a second rollout under `sessions/` next to the archived one, and the
live copy would win from then on (issue 14, defect 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app_server.client_connection import ClientGone, PendingServerRequest
from app_server.config import ServerConfig
from app_server.errors import NotFound
from app_server.notification import Notification
from app_server.store.memory import MemoryThreadStore
from app_server.threads.manager import ThreadManager
from app_server.threads.stored_operations import StoredThreadOperations
from protocol.types import ThreadStartParams
from protocol.wire_model import WireModel
from tests.store.rollout_builders import paginated_turn


@dataclass
class QuietConnection:
    """A client connection that only collects what it is sent."""

    connection_id: int = 1
    client_name: str = "tests"
    experimental_api: bool = False
    is_open: bool = True
    sent: list[Notification] = field(default_factory=list)

    def notify(self, notification: Notification) -> None:
        self.sent.append(notification)

    def send_request(self, method: str, params: WireModel) -> PendingServerRequest:
        raise ClientGone(method)


async def test_writer_for_a_thread_archived_meanwhile_is_refused(tmp_path: Path) -> None:
    store = MemoryThreadStore()
    await store.start()
    manager = ThreadManager(store, ServerConfig(tmp_path), server_cwd=tmp_path)
    thread = manager.start(
        QuietConnection(), ThreadStartParams(), history_mode="paginated", ephemeral=False
    )
    writer = await manager.writer_for(thread)
    assert writer is not None
    turn = paginated_turn(thread.id, "turn-1", 0, "hello", "ok")
    writer.append([{"type": line["type"], "payload": line["payload"]} for line in turn])
    await writer.flush()
    await StoredThreadOperations(manager).archive(thread.id)

    with pytest.raises(NotFound):
        await manager.writer_for(thread)  # a stale reference from before the archive
    record = await store.get(thread.id)
    assert record is not None
    assert (record.archived, record.preview) == (True, "hello")
