"""A loaded thread as the `TurnHost` its turns run in (`app_server/agent/turn_setup.py`).

The agent layer knows nothing of threads: a running turn publishes through this host (the
manager's fan-out to the thread's subscribers), reports rate-limit headers and completed
responses, sets the thread's status, marks a finished turn unread, records tool items in the
thread's rollout and asks the thread's clients for approvals. One host per turn, built by
`app_server/threads/turn_factory.py`.
"""

from __future__ import annotations

from collections.abc import Mapping

from app_server.agent.rate_limits import DEFAULT_LIMIT_ID
from app_server.agent.tools.registry import ToolItem
from app_server.client_connection import ServerRequestOutcome
from app_server.rollout import item_events
from app_server.threads.loaded_thread import LoadedThread
from app_server.threads.manager import ThreadManager
from app_server.threads.server_requests import ask_subscribers
from app_server.threads.thread_marks import ThreadMarks
from protocol.types import (
    AccountRateLimitsUpdatedNotification,
    RateLimitSnapshot,
    ThreadStatus,
)
from protocol.wire_model import WireModel


class ThreadTurnHost:
    """A loaded thread as a `TurnHost`: notifications go through the manager's fan-out."""

    def __init__(self, manager: ThreadManager, thread: LoadedThread) -> None:
        self._manager = manager
        self._thread = thread

    @property
    def thread_id(self) -> str:
        return self._thread.id

    def publish(self, params: WireModel, *, method: str | None = None) -> None:
        self._manager.publish(self._thread, params, method=method)

    def response_headers_seen(self, headers: Mapping[str, str]) -> None:
        self._manager.rate_limits.record(headers)

    def response_completed(self) -> None:
        """`account/rateLimits/updated` with the `codex` limit seen last (codex sends it, all
        null, when the responses carry no rate-limit headers)."""
        latest = self._manager.rate_limits.latest
        snapshot = latest.get(DEFAULT_LIMIT_ID) or RateLimitSnapshot(limit_id=DEFAULT_LIMIT_ID)
        self.publish(AccountRateLimitsUpdatedNotification(rate_limits=snapshot))

    def set_status(self, status: ThreadStatus) -> None:
        self._manager.set_status(self._thread, status)

    async def turn_result_ready(self, turn_id: str) -> None:
        await ThreadMarks(self._manager).turn_completed(self._thread, turn_id)

    def record_item(self, turn_id: str, item: ToolItem) -> None:
        writer = self._thread.writer
        if writer is None:
            return
        if self._thread.record.history_mode == "paginated":
            line = item_events.item_completed(
                self._thread.id, turn_id, item.core, item.started_at_ms, item.completed_at_ms
            )
        elif item.legacy is not None:
            line = item_events.legacy_event(item.legacy)
        else:
            return
        writer.append([line])

    async def ask(self, method: str, params: WireModel) -> ServerRequestOutcome:
        return await ask_subscribers(
            self._thread.id,
            self._manager.audience(self._thread),
            method,
            params,
            timeout_seconds=self._manager.approval_timeout_seconds,
        )
