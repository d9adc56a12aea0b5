"""Archive, unarchive and names hold across SIGKILLs at any moment (issue 14, defect 4).

Several data dirs ("lanes") run side by side; in each, one server after another works on a set
of threads — many operations at once, from several concurrent workers: archive, unarchive,
`thread/name/set`, and resume + a turn (so archives also unload loaded threads with open
writers) — and is SIGKILLed at a random point chosen among protocol events: right after the
K-th metadata response or notification arrived, right after the K-th `turn/completed` (work on
other threads), or while the K-th metadata request is in flight.

After every kill the next server's first listing must show each thread exactly once (live or
archived, never both, never neither) in the state its answered operations left (an operation
the kill caught in flight may have happened or not), with the last answered name. At the end,
the state must not change by itself: not after a background rescan, not across another kill.
Counts are printed (`pytest -s`).
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.conftest import ServerDirs, Servers
from tests.support.client import RpcClient, RpcError, StdioClient
from tests.support.homes import BASE_MS, ThreadSpec, write_thread
from tests.support.model_server import ModelServer
from tests.support.turn_env import MODEL_ENV, text_input, write_model_config

LANES = 3
"""Data dirs worked on at the same time, each by its own succession of servers: a server
start costs about a second, so lanes are what buys the number of kills in CI time."""
KILLS_PER_LANE = 70
"""Servers killed per lane (`LANES * KILLS_PER_LANE` kills in all)."""
THREADS_PER_LANE = 16
"""Threads each lane works on."""
WORKERS_PER_SERVER = 6
"""Concurrent clients' worth of operations per server (on distinct threads)."""
MAX_KILL_EVENT = 12
"""A kill lands after the K-th metadata event of its kind, K uniform in 1..this."""
MAX_TURN_KILL_EVENT = 3
"""The same for kills after a `turn/completed` (turns are rarer and slower)."""
MAX_IN_FLIGHT_DELAY_SECONDS = 0.003
"""A kill of the in-flight kind waits up to this long after sending (the request may be
mid-file-move, mid-index-update, or not read yet)."""
KILL_DEADLINE_SECONDS = 8.0
"""A server whose chosen event never comes is killed anyway after this long."""
RESCAN_WAIT_SECONDS = 5.5
"""A bit more than the store's rescan interval (`RESCAN_INTERVAL_SECONDS`): a listing after
this long starts a background rescan, which must not change anything."""
RESCAN_SETTLE_SECONDS = 1.0
"""Time given to that rescan before the state is read again."""
TURN_WEIGHT = 0.15
"""Share of operations that resume a live thread and run a turn on it."""
TEST_TIMEOUT_SECONDS = 400
"""Upper bound for the whole test (it aims at under three minutes on two cores)."""

KillKind = Literal["response", "notification", "turn", "in_flight", "deadline"]
KILL_KINDS: tuple[KillKind, ...] = ("response", "notification", "turn", "in_flight")
"""How a server's kill point is chosen (`deadline`: the chosen event never came)."""
METADATA_METHODS = frozenset({"thread/archive", "thread/unarchive", "thread/name/set"})
METADATA_NOTIFICATIONS = frozenset({"thread/archived", "thread/unarchived", "thread/name/updated"})


@dataclass
class ThreadState:
    """What the answered operations say about one thread: the allowed values of each field
    (one value, or two while an operation the kill caught in flight may or may not have
    happened), and what the workers currently believe."""

    archived: set[bool]
    names: set[str | None]
    believed_archived: bool
    believed_name: str | None
    busy: bool = False
    loaded: bool = False


@dataclass
class Counts:
    kills: int = 0
    kills_by_kind: dict[str, int] = field(default_factory=dict)
    answered: int = 0
    in_flight_at_kill: int = 0
    errors: int = 0
    turns_completed: int = 0
    reverted: int = 0
    doubled: int = 0
    lost: int = 0
    changed_by_itself: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: Counts) -> None:
        self.kills += other.kills
        for kind, number in other.kills_by_kind.items():
            self.kills_by_kind[kind] = self.kills_by_kind.get(kind, 0) + number
        self.answered += other.answered
        self.in_flight_at_kill += other.in_flight_at_kill
        self.errors += other.errors
        self.turns_completed += other.turns_completed
        self.reverted += other.reverted
        self.doubled += other.doubled
        self.lost += other.lost
        self.changed_by_itself += other.changed_by_itself
        self.problems += other.problems


@dataclass(frozen=True)
class Sent:
    """A metadata request: which thread and field it changes, from what to what."""

    thread_id: str
    field: Literal["archived", "name"]
    old: Any
    new: Any


Snapshot = dict[str, tuple[bool, str | None]]
"""Thread id → (archived, name) as listed."""


async def snapshot(client: RpcClient, counts: Counts, lane: int) -> Snapshot:
    """Both listings; counts threads listed on both sides."""
    sides: dict[bool, dict[str, str | None]] = {}
    for archived in (False, True):
        listed = await client.call(
            "thread/list", {"archived": archived, "limit": THREADS_PER_LANE * 2}
        )
        assert listed["nextCursor"] is None
        sides[archived] = {t["id"]: t["name"] for t in listed["data"]}
    both = set(sides[False]) & set(sides[True])
    counts.doubled += len(both)
    counts.problems += [f"lane {lane}: {t} listed live and archived" for t in sorted(both)]
    state: Snapshot = {}
    for archived, threads in sides.items():
        for thread_id, name in threads.items():
            state.setdefault(thread_id, (archived, name))
    return state


class Lane:
    """One data dir and the servers that work on it, one after another."""

    def __init__(self, number: int, root: Path, model_url: str, seed: int) -> None:
        self.number = number
        self.servers = Servers(ServerDirs(root / "data", root / "home"))
        for directory in (self.servers.dirs.data_dir, self.servers.dirs.home):
            directory.mkdir(parents=True)
        write_model_config(self.servers.dirs.data_dir, model_url)
        self.rng = random.Random(seed)
        self.counts = Counts()
        self.states: dict[str, ThreadState] = {}
        for salt in range(THREADS_PER_LANE):
            spec = ThreadSpec(BASE_MS + salt * 1000, salt=salt + 1, archived=salt % 4 == 0)
            write_thread(self.servers.dirs.data_dir, spec)
            self.states[spec.thread_id] = ThreadState({spec.archived}, {None}, spec.archived, None)
        self._names = 0

    async def start(self) -> StdioClient:
        client = await self.servers.stdio(env=MODEL_ENV)
        await client.initialize()
        return client

    def check(self, listed: Snapshot) -> None:
        """Compare a restarted server's first listing with what the answers allow; the
        listing becomes the new truth (an in-flight operation is now decided)."""
        for thread_id, state in self.states.items():
            if thread_id not in listed:
                self.counts.lost += 1
                self.counts.problems.append(f"lane {self.number}: {thread_id} not listed")
                continue
            archived, name = listed[thread_id]
            if archived not in state.archived or name not in state.names:
                self.counts.reverted += 1
                self.counts.problems.append(
                    f"lane {self.number}: {thread_id} listed as {(archived, name)}, answers "
                    f"allow archived in {state.archived} and name in {state.names}"
                )
            state.archived, state.names = {archived}, {name}
            state.believed_archived, state.believed_name = archived, name
            state.busy = state.loaded = False

    async def one_server(self) -> None:
        """Start a server, check its first listing, work until the kill."""
        client = await self.start()
        self.check(await snapshot(client, self.counts, self.number))
        kind: KillKind = self.rng.choice(KILL_KINDS)
        target = self.rng.randint(1, MAX_TURN_KILL_EVENT if kind == "turn" else MAX_KILL_EVENT)
        sent: dict[int, Sent] = {}
        in_flight_reached = asyncio.Event()
        workers = [
            asyncio.create_task(self._work(client, sent, kind, target, in_flight_reached))
            for _ in range(WORKERS_PER_SERVER)
        ]
        try:
            await asyncio.wait_for(
                self._kill_point(client, kind, target, in_flight_reached), KILL_DEADLINE_SECONDS
            )
        except TimeoutError:
            kind = "deadline"
        process = self.servers.processes[-1]
        process.signal(signal.SIGKILL)
        await process.wait()
        await asyncio.wait_for(client.closed.wait(), KILL_DEADLINE_SECONDS)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self.servers.clients.remove(client)  # its stream may end mid-message: that is the point
        self.counts.kills += 1
        self.counts.kills_by_kind[kind] = self.counts.kills_by_kind.get(kind, 0) + 1
        self._settle(client, sent)

    async def _kill_point(
        self, client: RpcClient, kind: KillKind, target: int, in_flight_reached: asyncio.Event
    ) -> None:
        if kind == "in_flight":
            await in_flight_reached.wait()
            await asyncio.sleep(self.rng.uniform(0, MAX_IN_FLIGHT_DELAY_SECONDS))
            return
        predicate: Callable[[dict[str, Any]], bool]
        if kind == "response":
            methods = client._methods

            def predicate(message: dict[str, Any]) -> bool:
                return "method" not in message and methods.get(message.get("id")) in (
                    METADATA_METHODS
                )

        elif kind == "notification":

            def predicate(message: dict[str, Any]) -> bool:
                return message.get("method") in METADATA_NOTIFICATIONS

        else:

            def predicate(message: dict[str, Any]) -> bool:
                return message.get("method") == "turn/completed"

        await client.wait_for(
            lambda: sum(map(predicate, client.received)) >= target, KILL_DEADLINE_SECONDS
        )

    def _settle(self, client: RpcClient, sent: dict[int, Sent]) -> None:
        """Decide each metadata request from what the client received before the kill."""
        replies = {m["id"]: m for m in client.received if "method" not in m and "id" in m}
        for request_id, request in sent.items():
            state = self.states[request.thread_id]
            reply = replies.get(request_id)
            allowed: set[Any] = {request.new} if reply is not None else {request.old, request.new}
            if reply is not None and "error" in reply:
                self.counts.errors += 1
                self.counts.problems.append(f"lane {self.number}: {reply['error']}")
                allowed = {request.old, request.new}
            if reply is not None:
                self.counts.answered += 1
            else:
                self.counts.in_flight_at_kill += 1
            if request.field == "archived":
                state.archived = allowed
            else:
                state.names = allowed
        self.counts.turns_completed += sum(
            1 for m in client.notifications if m["method"] == "turn/completed"
        )

    async def _work(
        self,
        client: RpcClient,
        sent: dict[int, Sent],
        kind: KillKind,
        target: int,
        in_flight_reached: asyncio.Event,
    ) -> None:
        """Operations on idle threads, back to back, until cancelled."""
        while True:
            idle = [t for t, s in self.states.items() if not s.busy]
            if not idle:
                await asyncio.sleep(0.001)
                continue
            thread_id = self.rng.choice(idle)
            state = self.states[thread_id]
            state.busy = True
            try:
                if not state.believed_archived and self.rng.random() < TURN_WEIGHT:
                    try:
                        await self._turn(client, thread_id, state)
                    except RpcError as error:
                        self.counts.errors += 1
                        self.counts.problems.append(f"lane {self.number}: {error}")
                    continue
                request = self._metadata_request(thread_id, state)
                request_id = client.next_id()
                sent[request_id] = request
                method, params = self._call_of(request)
                answer = asyncio.ensure_future(
                    client.request(method, params, request_id=request_id)
                )
                if kind == "in_flight" and len(sent) >= target:
                    in_flight_reached.set()
                reply = await answer
                if reply.error is None:
                    if request.field == "archived":
                        state.believed_archived = request.new
                        state.loaded = False
                    else:
                        state.believed_name = request.new
            finally:
                state.busy = False

    def _metadata_request(self, thread_id: str, state: ThreadState) -> Sent:
        if self.rng.random() < 0.5:
            self._names += 1
            name = f"lane{self.number}-name{self._names}"
            return Sent(thread_id, "name", state.believed_name, name)
        archived = state.believed_archived
        return Sent(thread_id, "archived", archived, not archived)

    @staticmethod
    def _call_of(request: Sent) -> tuple[str, dict[str, Any]]:
        if request.field == "name":
            return "thread/name/set", {"threadId": request.thread_id, "name": request.new}
        method = "thread/archive" if request.new else "thread/unarchive"
        return method, {"threadId": request.thread_id}

    async def _turn(self, client: RpcClient, thread_id: str, state: ThreadState) -> None:
        """Load the thread (its archive must then unload it) and run one turn on it."""
        if not state.loaded:
            await client.call("thread/resume", {"threadId": thread_id, "excludeTurns": True})
            state.loaded = True
        result = await client.call(
            "turn/start", {"threadId": thread_id, "input": text_input("work")}
        )
        turn_id = result["turn"]["id"]
        await client.wait_notification(
            "turn/completed",
            where=lambda m: m["params"]["turn"]["id"] == turn_id,
            timeout=KILL_DEADLINE_SECONDS,
        )

    async def run(self) -> None:
        for _ in range(KILLS_PER_LANE):
            await self.one_server()
        await self.final_checks()

    async def final_checks(self) -> None:
        """The first listing after the last kill, then: a rescan and another kill change
        nothing."""
        client = await self.start()
        first = await snapshot(client, self.counts, self.number)
        self.check(first)
        await asyncio.sleep(RESCAN_WAIT_SECONDS)
        await snapshot(client, self.counts, self.number)  # starts a background rescan
        await asyncio.sleep(RESCAN_SETTLE_SECONDS)
        after_rescan = await snapshot(client, self.counts, self.number)
        process = self.servers.processes[-1]
        process.signal(signal.SIGKILL)
        await process.wait()
        self.servers.clients.remove(client)
        again = await self.start()
        after_restart = await snapshot(again, self.counts, self.number)
        for label, later in (("a rescan", after_rescan), ("a restart", after_restart)):
            changed = sorted(t for t in first if first[t] != later.get(t))
            self.counts.changed_by_itself += len(changed)
            self.counts.problems += [
                f"lane {self.number}: {t} changed across {label}: {first[t]} → {later.get(t)}"
                for t in changed
            ]


async def run_lanes(lanes: list[Lane], step: Callable[[Lane], Awaitable[None]]) -> None:
    try:
        await asyncio.gather(*(step(lane) for lane in lanes))
    finally:
        for lane in lanes:
            await lane.servers.close()


@pytest.mark.timeout(TEST_TIMEOUT_SECONDS)
async def test_sigkills_never_revert_or_double_an_answered_archive_unarchive_or_name(
    tmp_path: Path, model_server: ModelServer
) -> None:
    started = time.monotonic()
    lanes = [
        Lane(number, tmp_path / f"lane{number}", model_server.base_url, seed=20261124 + number)
        for number in range(LANES)
    ]
    await run_lanes(lanes, Lane.run)
    total = Counts()
    for lane in lanes:
        total.add(lane.counts)
    violations = [v for lane in lanes for c in lane.servers.clients for v in c.violations]
    print(
        f"\nmetadata crash test: {total.kills} kills {dict(sorted(total.kills_by_kind.items()))},"
        f" {total.answered} metadata operations answered,"
        f" {total.in_flight_at_kill} in flight at a kill, {total.turns_completed} turns"
        f" completed, {total.errors} errors; reverted {total.reverted}, doubled"
        f" {total.doubled}, lost {total.lost}, changed by itself {total.changed_by_itself};"
        f" {time.monotonic() - started:.1f} s"
    )
    assert total.kills >= LANES * KILLS_PER_LANE
    assert total.problems == []
    assert violations == []
