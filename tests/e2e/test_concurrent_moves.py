"""Reading a thread while another request archives or unarchives it (found by the issue 14 fuzz).

`thread/archive` moves the rollout between `sessions/` and `archived_sessions/`; a
`thread/turns/list` or `thread/read` in flight at that moment opens the old path and fails with
FileNotFoundError, which the client got as -32603. Pipelined requests from one client are
enough. The store now locates a rollout again when it moved while being opened.
"""

from __future__ import annotations

import asyncio

from tests.conftest import Servers
from tests.support.homes import BASE_MS, ThreadSpec, write_thread

ROUNDS = 10


async def test_reads_racing_archive_and_unarchive_never_get_an_internal_error(
    servers: Servers,
) -> None:
    spec = ThreadSpec(BASE_MS, salt=1, text="hello", turns=30)
    write_thread(servers.dirs.data_dir, spec)
    client = await servers.stdio()
    await client.initialize(experimental=True)
    codes = []
    for round_number in range(ROUNDS):
        move = "thread/archive" if round_number % 2 == 0 else "thread/unarchive"
        replies = await asyncio.gather(
            client.request("thread/turns/list", {"threadId": spec.thread_id}),
            client.request(move, {"threadId": spec.thread_id}),
            client.request("thread/read", {"threadId": spec.thread_id, "includeTurns": True}),
        )
        codes += [reply.code for reply in replies]
    assert -32603 not in codes
