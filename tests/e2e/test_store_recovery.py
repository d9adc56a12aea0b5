"""A damaged index is set aside and rebuilt from the rollouts; clients are told."""

from __future__ import annotations

import os

from tests.conftest import Servers
from tests.support.homes import BASE_MS, ThreadSpec, write_threads
from tests.support.sandbox_env import not_sandbox_warning

INDEX = "state_app_server_2.sqlite"


async def test_corrupted_index_is_backed_up_rebuilt_and_lists_the_same(servers: Servers) -> None:
    specs = [ThreadSpec(BASE_MS + i * 1000, salt=i, text=f"thread {i}") for i in range(30)]
    write_threads(servers.dirs.data_dir, specs)
    client = await servers.stdio()
    await client.initialize()
    before = await client.call("thread/list", {"limit": 100})
    await client.close()
    await servers.processes[0].wait()

    garbage = os.urandom(64 * 1024)
    (servers.dirs.data_dir / INDEX).write_bytes(garbage)
    for suffix in ("-wal", "-shm"):
        (servers.dirs.data_dir / (INDEX + suffix)).unlink(missing_ok=True)

    again = await servers.stdio()
    await again.initialize()
    warning = await again.wait_notification("configWarning", where=not_sandbox_warning)
    assert warning["params"]["summary"] == "Codex rebuilt its local database"
    after = await again.call("thread/list", {"limit": 100})
    assert after == before
    backups = list((servers.dirs.data_dir / "db-backups").glob(f"sqlite-*/{INDEX}"))
    assert [b.read_bytes() for b in backups] == [garbage]


async def test_deleted_index_is_rebuilt_without_a_warning(servers: Servers) -> None:
    write_threads(servers.dirs.data_dir, [ThreadSpec(BASE_MS, salt=1)])
    client = await servers.stdio()
    await client.initialize()
    assert len((await client.call("thread/list", {}))["data"]) == 1
    warnings = client.notifications_named("configWarning")
    assert [w for w in warnings if not_sandbox_warning(w)] == []
