"""Asking a thread's subscribers: first answer wins, everyone hears it is resolved, and a
request nobody can answer ends instead of hanging."""

from __future__ import annotations

import asyncio
import itertools

from app_server.client_connection import (
    UNANSWERED,
    ClientConnection,
    ClientGone,
    PendingServerRequest,
    ServerRequestOutcome,
)
from app_server.notification import Notification
from app_server.threads.server_requests import ask_subscribers
from protocol.types import ServerRequestResolvedNotification
from protocol.wire_model import WireModel

PARAMS = ServerRequestResolvedNotification(thread_id="t", request_id=0)  # any wire model


class FakeConnection:
    """A connection that records what it is sent and lets the test answer."""

    _ids = itertools.count(1)

    def __init__(self, *, open_: bool = True) -> None:
        self.connection_id = next(self._ids)
        self.client_name = "fake"
        self.experimental_api = False
        self.is_open = open_
        self.notified: list[Notification] = []
        self.asked: list[PendingServerRequest] = []

    def notify(self, notification: Notification) -> None:
        self.notified.append(notification)

    def send_request(self, method: str, params: WireModel) -> PendingServerRequest:
        if not self.is_open:
            raise ClientGone("closed")
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        pending = PendingServerRequest(len(self.asked), future)
        self.asked.append(pending)
        return pending

    def resolved_ids(self) -> list[object]:
        return [
            n.params.request_id
            for n in self.notified
            if isinstance(n.params, ServerRequestResolvedNotification)
        ]


async def ask(
    connections: list[FakeConnection], timeout: float = 5.0
) -> asyncio.Task[ServerRequestOutcome]:
    recipients: list[ClientConnection] = list(connections)
    task = asyncio.create_task(
        ask_subscribers("t", recipients, "m", PARAMS, timeout_seconds=timeout)
    )
    await asyncio.sleep(0)
    return task


async def test_the_first_answer_wins_and_every_recipient_hears_it_is_resolved() -> None:
    first, second = FakeConnection(), FakeConnection()
    task = await ask([first, second])
    second.asked[0].future.set_result({"decision": "accept"})
    outcome = await task
    assert outcome.result == {"decision": "accept"}
    assert first.asked[0].future.cancelled()
    assert first.resolved_ids() == [0]
    assert second.resolved_ids() == [0]


async def test_an_error_answer_counts_as_answered_and_failed() -> None:
    connection = FakeConnection()
    task = await ask([connection])
    connection.asked[0].future.set_exception(RuntimeError("client error"))
    outcome = await task
    assert (outcome.answered, outcome.failed) == (True, True)


async def test_a_recipient_leaving_does_not_end_the_request_while_another_remains() -> None:
    leaving, staying = FakeConnection(), FakeConnection()
    task = await ask([leaving, staying])
    leaving.asked[0].future.set_exception(ClientGone("gone"))
    await asyncio.sleep(0.01)
    assert not task.done()
    staying.asked[0].future.set_result({"decision": "decline"})
    assert (await task).result == {"decision": "decline"}


async def test_when_every_recipient_leaves_the_request_is_unanswered() -> None:
    only = FakeConnection()
    task = await ask([only])
    only.asked[0].future.set_exception(ClientGone("gone"))
    assert await task == UNANSWERED


async def test_without_subscribers_the_request_ends_at_once() -> None:
    assert await (await ask([FakeConnection(open_=False)])) == UNANSWERED
    assert await (await ask([])) == UNANSWERED


async def test_a_request_nobody_answers_times_out() -> None:
    connection = FakeConnection()
    task = await ask([connection], timeout=0.05)
    assert await task == UNANSWERED
    assert connection.asked[0].future.cancelled()
    assert connection.resolved_ids() == [0]


async def test_cancelling_the_asker_resolves_the_request_for_clients() -> None:
    connection = FakeConnection()
    task = await ask([connection])
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert connection.asked[0].future.cancelled()
    assert connection.resolved_ids() == [0]
