"""`JoinHold`: a connection joining a thread misses nothing after its resume answer and gets
nothing twice."""

from __future__ import annotations

import itertools

from app_server.client_connection import ClientGone, PendingServerRequest
from app_server.notification import Notification, notification
from app_server.threads.join_hold import JoinHold, Snapshot
from protocol.types import (
    AgentMessageDeltaNotification,
    AgentMessageThreadItem,
    ItemCompletedNotification,
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


def item_completed(item_id: str, turn_id: str = "u") -> Notification:
    item = AgentMessageThreadItem(id=item_id, text="done", type="agentMessage")
    completed_item = ItemCompletedNotification(
        thread_id="t", turn_id=turn_id, item=item, completed_at_ms=0
    )
    return notification(completed_item)


def test_events_published_while_a_connection_joins_follow_its_answer_in_order() -> None:
    joining, early, late = JoinHold(), RecordingConnection(), RecordingConnection()
    joining.publish([early], started("u"))

    joining.hold(late)
    joining.publish([early, late], delta("a"))
    joining.publish([early, late], item_completed("i"))
    held_before_release = list(late.notified)
    joining.release(late, Snapshot({"u": ("inProgress", frozenset())}))
    joining.publish([early, late], completed("u"))

    assert held_before_release == []
    assert late.methods() == ["item/agentMessage/delta", "item/completed", "turn/completed"]


def test_what_the_answer_shows_is_not_sent_again() -> None:
    joining, late = JoinHold(), RecordingConnection()
    joining.hold(late)
    joining.publish([late], started("u"))
    joining.publish([late], item_completed("shown"))
    joining.publish([late], item_completed("new"))

    joining.release(late, Snapshot({"u": ("inProgress", frozenset({"shown"}))}))

    assert [m.params.item.id for m in late.notified] == ["new"]  # type: ignore[attr-defined]


def test_the_completion_of_a_turn_the_answer_shows_finished_is_not_sent_again() -> None:
    joining, late = JoinHold(), RecordingConnection()
    joining.hold(late)
    joining.publish([late], completed("u"))
    joining.publish([late], started("v"))

    joining.release(late, Snapshot({"u": ("completed", frozenset())}))

    assert late.methods() == ["turn/started"]


def test_an_answer_without_turns_lets_every_held_event_follow() -> None:
    joining, late = JoinHold(), RecordingConnection()
    joining.hold(late)
    joining.publish([late], started("u"))

    joining.release(late)

    assert late.methods() == ["turn/started"]
