"""`TurnReplay`: a connection joining a running turn gets it whole after its answer, once."""

from __future__ import annotations

import itertools

from app_server.client_connection import ClientGone, PendingServerRequest
from app_server.notification import Notification, notification
from app_server.threads.turn_replay import TurnReplay
from protocol.types import (
    AgentMessageDeltaNotification,
    Turn,
    TurnCompletedNotification,
    TurnStartedNotification,
)
from protocol.wire_model import WireModel


class RecordingConnection:
    """A connection that records the notifications it is sent."""

    _ids = itertools.count(1)

    def __init__(self) -> None:
        self.connection_id = next(self._ids)
        self.client_name = "test"
        self.experimental_api = False
        self.is_open = True
        self.notified: list[Notification] = []

    def notify(self, message: Notification) -> None:
        self.notified.append(message)

    def send_request(self, method: str, params: WireModel) -> PendingServerRequest:
        raise ClientGone("this test connection takes no requests")

    def methods(self) -> list[str]:
        return [m.method for m in self.notified]


def started(turn_id: str) -> Notification:
    turn = Turn(id=turn_id, items=[], status="inProgress")
    return notification(TurnStartedNotification(thread_id="t", turn=turn))


def completed(turn_id: str) -> Notification:
    turn = Turn(id=turn_id, items=[], status="completed")
    return notification(TurnCompletedNotification(thread_id="t", turn=turn))


def delta(text: str) -> Notification:
    return notification(
        AgentMessageDeltaNotification(thread_id="t", turn_id="u", item_id="i", delta=text)
    )


def test_a_connection_joining_mid_turn_gets_the_turn_from_its_start_after_release() -> None:
    replay, early, late = TurnReplay(), RecordingConnection(), RecordingConnection()
    replay.publish([early], started("u"))
    replay.publish([early], delta("a"))

    replay.hold(late)
    replay.publish([early, late], delta("b"))
    held_before_release = list(late.notified)
    replay.release(late)
    replay.publish([early, late], completed("u"))

    assert held_before_release == []
    assert late.methods() == early.methods()
    assert late.notified == early.notified


def test_the_turns_a_joining_connection_gets_as_events_are_named() -> None:
    replay, late = TurnReplay(), RecordingConnection()
    replay.publish([], started("u"))

    replay.hold(late)

    assert replay.held_turn_ids(late) == {"u"}


def test_a_connection_joining_between_turns_holds_nothing_of_the_finished_one() -> None:
    replay, late = TurnReplay(), RecordingConnection()
    replay.publish([], started("u"))
    replay.publish([], completed("u"))

    replay.hold(late)
    replay.release(late)

    assert late.notified == []
    assert replay.held_turn_ids(late) == set()
