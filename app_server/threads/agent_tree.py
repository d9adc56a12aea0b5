"""The sub-agents of every session tree: their states, their limits, and what happens when one
finishes (AGENT_LOOP.md §6, PROTOCOL.md §10).

A session tree is a root thread and the agents spawned from it (and from them), all sharing the
root's id as `session_id`. The tree knows each agent's path, nickname and state; it enforces
`agents.max_depth` and `agents.max_threads`; and when an agent's turn ends it tells the parent:
a v2 parent gets a `subAgentActivity` `completed` item in its current turn and the final answer
in its mailbox, and every waiting `wait_agent` wakes. After a restart nothing is in memory: the
tree is rebuilt from the store (spawn edges and each child's `session_meta`) the first time an
agent of that session asks about it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from msgspec import Struct
from msgspec.structs import replace

from app_server.agent.inter_agent import ROOT_AGENT_PATH, InterAgentMessage, SubAgentNotification
from app_server.agent.tools import tool_items
from app_server.agent.tools.agent_control import AgentInfo, AgentStatus
from app_server.agent.turn_runner import TurnRunner
from app_server.agent.turn_setup import PendingInput
from app_server.notification import now_ms
from app_server.rollout import core_items, item_events
from app_server.rollout.items import SubAgentActivityItem
from app_server.store.thread_query import MAX_LIST_LIMIT, ThreadQuery
from app_server.threads.agent_spawner import agent_depth
from app_server.threads.loaded_thread import LoadedThread
from app_server.threads.manager import ThreadManager
from app_server.threads.turn_origin import TurnOrigin
from protocol.types import ItemCompletedNotification, ItemStartedNotification, UserInput

if TYPE_CHECKING:
    from app_server.threads.thread_agents import ThreadAgents
    from app_server.threads.turns import ThreadTurns

log = logging.getLogger(__name__)


OUTCOME_STATUS: dict[str, AgentStatus] = {
    "completed": "completed",
    "interrupted": "interrupted",
    "failed": "errored",
}


class AgentState(Struct):
    """One spawned agent as the tree tracks it."""

    info: AgentInfo
    session_id: str
    parent_id: str
    depth: int
    closed: bool = False


class AgentTree:
    """Every session tree of the process (see the module docstring)."""

    def __init__(self, manager: ThreadManager, turns: ThreadTurns) -> None:
        self.manager = manager
        self.turns = turns
        agents = manager.config.toml.agents
        self.max_threads = agents.max_threads
        self.max_depth = agents.max_depth
        self._agents: dict[str, AgentState] = {}
        self._known_sessions: set[str] = set()
        self._changed = asyncio.Event()

    def control(self, thread: LoadedThread, turn_id: str, root_turn_id: str) -> ThreadAgents:
        """The multi-agent operations of one thread's turn, for its tools."""
        from app_server.threads.thread_agents import ThreadAgents

        return ThreadAgents(self, thread, turn_id=turn_id, root_turn_id=root_turn_id)

    # -- states -----------------------------------------------------------------------------
    def agent(self, thread_id: str) -> AgentState | None:
        return self._agents.get(thread_id)

    def agents_of(self, session_id: str) -> list[AgentState]:
        """The session tree's agents in the order they were spawned (or found)."""
        return [state for state in self._agents.values() if state.session_id == session_id]

    def register(self, state: AgentState) -> None:
        self._agents[state.info.thread_id] = state
        self._known_sessions.add(state.session_id)

    def set_status(
        self, thread_id: str, status: AgentStatus, last_message: str | None = None
    ) -> None:
        state = self._agents.get(thread_id)
        if state is not None:
            state.info = replace(state.info, status=status, last_message=last_message)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self, timeout_seconds: float) -> bool:
        """Wait for any agent's state to change; False on timeout."""
        try:
            await asyncio.wait_for(self._changed.wait(), timeout_seconds)
        except TimeoutError:
            return False
        return True

    def running_count(self, session_id: str) -> int:
        """Sub-agents of the tree running a turn now."""
        return sum(1 for state in self.agents_of(session_id) if state.info.status == "running")

    def forget(self, thread_ids: list[str]) -> None:
        """Deleted threads leave their trees."""
        for thread_id in thread_ids:
            self._agents.pop(thread_id, None)

    # -- cold trees ---------------------------------------------------------------------------
    async def load_session(self, session_id: str) -> None:
        """Learn a session tree's agents from the store (once per process): the tree of a
        restarted server, or one whose agents were spawned by another process."""
        if session_id in self._known_sessions:
            return
        self._known_sessions.add(session_id)
        cursor: str | None = None
        while True:
            page = await self.manager.store.list_threads(
                ThreadQuery(
                    ancestor_thread_id=session_id,
                    sort_direction="asc",
                    limit=MAX_LIST_LIMIT,
                    cursor=cursor,
                )
            )
            for record in page.records:
                if record.id in self._agents or record.parent_thread_id is None:
                    continue
                status: AgentStatus = "completed"
                last_message: str | None = None
                try:
                    history = await self.manager.reads.read_history(record.id)
                except Exception:  # an unreadable child is listed, not fatal to the tree
                    log.exception("reading sub-agent %s failed", record.id)
                    history = None
                if history is not None and history.turns:
                    last = history.turns[-1].turn
                    status = OUTCOME_STATUS.get(last.status, "interrupted")
                    texts = [i.root.text for i in last.items if i.root.type == "agentMessage"]  # type: ignore[union-attr]
                    last_message = texts[-1] if texts else None
                elif history is not None:
                    status = "pendingInit"
                self.register(
                    AgentState(
                        info=AgentInfo(
                            thread_id=record.id,
                            path=record.agent_path,
                            nickname=record.agent_nickname,
                            role=record.agent_role,
                            status=status,
                            model=record.model,
                            effort=record.reasoning_effort,
                            last_message=last_message,
                        ),
                        session_id=session_id,
                        parent_id=record.parent_thread_id,
                        depth=agent_depth(record),
                    )
                )
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # -- an agent's turn ended ------------------------------------------------------------------
    def turn_ended(self, child: LoadedThread, runner: TurnRunner) -> None:
        """Record the agent's new state and tell its parent (see the module docstring)."""
        status = OUTCOME_STATUS.get(runner.outcome, "interrupted")
        final = runner.last_agent_text if status == "completed" else None
        self.set_status(child.id, status, final)
        parent_id = child.record.parent_thread_id
        parent = self.manager.loaded(parent_id) if parent_id else None
        if parent is None or status != "completed":
            return
        if parent.multi_agent_version == "v1":
            parent.mailbox.post(SubAgentNotification(child.id, {"completed": final}))
        elif parent.multi_agent_version == "v2":
            self.report_activity(
                parent,
                core_items.sub_agent_activity(
                    f"subagent-completed-{runner.turn_id}",
                    "completed",
                    agent_thread_id=child.id,
                    agent_path=child.record.agent_path,
                ),
            )
            parent.mailbox.post(
                InterAgentMessage(
                    author=child.record.agent_path or child.id,
                    recipient=parent.record.agent_path or ROOT_AGENT_PATH,
                    kind="FINAL_ANSWER",
                    payload=final or "",
                    trigger_turn=False,
                )
            )

    def report_activity(self, parent: LoadedThread, core: SubAgentActivityItem) -> None:
        """An item in the parent's current turn that no tool call of it produced (a child
        finished): recorded under the running turn; after that turn ended, only announced
        under the last one, as 0.169 does."""
        active = parent.active_turn
        running = active is not None and not active.finished
        turn_id = active.turn_id if running and active is not None else parent.last_turn_id
        if turn_id is None:
            return
        started = now_ms()
        item = tool_items.wire_item(core, started, started)
        self.manager.publish(
            parent,
            ItemStartedNotification(
                thread_id=parent.id, turn_id=turn_id, started_at_ms=started, item=item
            ),
        )
        self.manager.publish(
            parent,
            ItemCompletedNotification(
                thread_id=parent.id, turn_id=turn_id, completed_at_ms=started, item=item
            ),
        )
        if running and parent.writer is not None and parent.record.history_mode == "paginated":
            parent.writer.append(
                [item_events.item_completed(parent.id, turn_id, core, started, started)]
            )

    async def start_task(
        self, child: LoadedThread, message: InterAgentMessage, origin: TurnOrigin
    ) -> None:
        """Give the agent a task: a new turn, or (while it runs) a message for its next
        boundary."""
        pending = PendingInput([], message=message)
        if await self.turns.start_agent_turn(child, pending, origin) is not None:
            self.set_status(child.id, "running")

    async def start_input(
        self, child: LoadedThread, inputs: list[UserInput], origin: TurnOrigin
    ) -> str:
        """v1: give the agent user input: a new turn, or steered into the running one; the id
        of the turn that takes it."""
        pending = PendingInput(list(inputs))
        runner = await self.turns.start_agent_turn(child, pending, origin)
        if runner is not None:
            self.set_status(child.id, "running")
            return runner.turn_id
        return child.active_turn.turn_id if child.active_turn is not None else ""
