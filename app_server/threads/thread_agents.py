"""One turn's view of its session tree: the `AgentControl` the multi-agent tools call.

Targets are resolved the way 0.169 resolves them: a thread id, a canonical agent path
(`/root/helper_task`), or a path relative to the calling agent (`helper_task` from `/root`).
Agents that are not loaded (a restarted server, an idle agent that was unloaded) are loaded
on demand, so a tree keeps working across restarts.
"""

from __future__ import annotations

import asyncio
import re
import time

from msgspec.structs import replace

from app_server.agent.inter_agent import ROOT_AGENT_PATH, InterAgentMessage, Mailbox, MessageKind
from app_server.agent.nicknames import pick_nickname
from app_server.agent.tools.agent_control import (
    FINAL_STATUSES,
    AgentError,
    AgentInfo,
    SpawnRequest,
)
from app_server.errors import RpcError
from app_server.ids import parse_thread_id, uuid7
from app_server.model_efforts import model_efforts
from app_server.rpc.errors import as_rpc_error
from app_server.store.errors import HistoryLineageError, StoreError
from app_server.threads.agent_spawner import agent_depth, agent_path, create_child
from app_server.threads.agent_tree import AgentState, AgentTree
from app_server.threads.loaded_thread import LoadedThread
from app_server.threads.turn_origin import TurnOrigin
from protocol.types import UserInput

TASK_NAME = re.compile(r"[a-z0-9_]+")

INTERRUPT_WAIT_SECONDS = 10.0
"""How long `interrupt_agent` waits for the agent's turn to record its interruption before
answering (it normally takes milliseconds: the turn only has to write two lines)."""


def check_task_name(name: str) -> None:
    """0.169's rules and texts for a `spawn_agent` task name."""
    if not name:
        raise AgentError("agent_name must not be empty")
    if "/" in name:
        raise AgentError("agent_name must not contain `/`")
    if not TASK_NAME.fullmatch(name):
        raise AgentError("agent_name must use only lowercase letters, digits, and underscores")


class ThreadAgents:
    """The `AgentControl` of one thread's turn (see the module docstring)."""

    def __init__(
        self, tree: AgentTree, thread: LoadedThread, *, turn_id: str, root_turn_id: str
    ) -> None:
        self._tree = tree
        self._thread = thread
        self._turn_id = turn_id
        self._root_turn_id = root_turn_id
        self._session_id = thread.record.session_id

    @property
    def agent_path(self) -> str:
        return agent_path(self._thread)

    @property
    def mailbox(self) -> Mailbox:
        return self._thread.mailbox

    def _origin(self) -> TurnOrigin:
        return TurnOrigin(
            root_turn_id=self._root_turn_id,
            originator=self._thread.record.originator or "",
            parent_turn_id=self._turn_id,
            initiating_agent_path=self.agent_path,
        )

    def _message(self, recipient: AgentInfo, kind: MessageKind, text: str) -> InterAgentMessage:
        return InterAgentMessage(
            author=self.agent_path,
            recipient=recipient.path or recipient.thread_id,
            kind=kind,
            payload=text,
            trigger_turn=kind == "NEW_TASK",
        )

    # -- spawning ------------------------------------------------------------------------------
    async def plan_spawn(self, request: SpawnRequest) -> AgentInfo:
        tree = self._tree
        await tree.load_session(self._session_id)
        path: str | None = None
        if request.task_name is not None:
            check_task_name(request.task_name)
            path = f"{self.agent_path}/{request.task_name}"
            if any(s.info.path == path for s in tree.agents_of(self._session_id)):
                raise AgentError(f"agent path `{path}` already exists")
        if agent_depth(self._thread.record) + 1 > tree.max_depth:
            raise AgentError(
                f"Agent depth limit reached (agents.max_depth = {tree.max_depth}). "
                "Solve the task yourself."
            )
        if tree.running_count(self._session_id) >= tree.max_threads:
            raise AgentError("collab spawn failed: agent thread limit reached")
        taken = {s.info.nickname for s in tree.agents_of(self._session_id) if s.info.nickname}
        settings = self._thread.settings
        model = request.model or settings.model
        default_effort = model_efforts(settings.config.toml, model)[1]
        return AgentInfo(
            thread_id=uuid7(),
            path=path,
            nickname=pick_nickname(taken),
            role=None,
            status="pendingInit",
            model=model,
            effort=request.effort or settings.reasoning_effort or default_effort,
            model_default_effort=default_effort,
        )

    async def spawn(self, request: SpawnRequest, planned: AgentInfo) -> AgentInfo:
        tree = self._tree
        child = await create_child(
            tree.manager, self._thread, request, planned, slots=tree.max_threads + 1
        )
        tree.register(
            AgentState(
                info=planned,
                session_id=self._session_id,
                parent_id=self._thread.id,
                depth=agent_depth(child.record),
            )
        )
        if request.task_name is None:  # v1: the task is the child's user input
            await tree.start_input(child, request.inputs, self._origin())
        else:
            message = self._message(planned, "NEW_TASK", request.message)
            await tree.start_task(child, message, self._origin())
        state = tree.agent(planned.thread_id)
        return state.info if state is not None else planned

    # -- finding agents ------------------------------------------------------------------------
    def _root_info(self) -> AgentInfo:
        root = self._tree.manager.loaded(self._session_id)
        running = root is not None and root.active_turn is not None
        return AgentInfo(
            thread_id=self._session_id,
            path=ROOT_AGENT_PATH,
            nickname=None,
            role=None,
            status="running" if running else "completed",
        )

    async def resolve(self, target: str) -> AgentInfo:
        tree = self._tree
        await tree.load_session(self._session_id)
        try:
            thread_id = parse_thread_id(target)
        except ValueError:
            thread_id = None
        if thread_id is not None:
            if thread_id == self._session_id:
                return self._root_info()
            state = tree.agent(thread_id)
            if state is None or state.session_id != self._session_id:
                raise AgentError(f"agent with id {target} not found")
            return state.info
        path = target if target.startswith("/") else f"{self.agent_path}/{target}"
        if path == ROOT_AGENT_PATH:
            return self._root_info()
        for state in tree.agents_of(self._session_id):
            if state.info.path == path and not state.closed:
                return state.info
        raise AgentError(f"live agent path `{path}` not found")

    async def _load(self, info: AgentInfo) -> LoadedThread:
        manager = self._tree.manager
        loaded = manager.loaded(info.thread_id)
        if loaded is not None:
            return loaded
        try:
            thread, _ = await manager.resume(None, info.thread_id, None)
        except (RpcError, StoreError, HistoryLineageError) as error:  # as `thread/resume` says
            name = info.path or info.thread_id
            reason = as_rpc_error(error, method="thread/resume").message
            raise AgentError(f"agent {name} is unavailable: {reason}") from None
        return thread

    async def live_agents(self, path_prefix: str | None) -> list[AgentInfo]:
        await self._tree.load_session(self._session_id)
        agents = [self._root_info()] + [
            s.info for s in self._tree.agents_of(self._session_id) if not s.closed
        ]
        if path_prefix is None:
            return agents
        return [
            a
            for a in agents
            if a.path is not None
            and (a.path == path_prefix or a.path.startswith(path_prefix + "/"))
        ]

    # -- talking to agents ---------------------------------------------------------------------
    async def send(self, target: AgentInfo, message: str, *, trigger_turn: bool) -> None:
        tree = self._tree
        thread = self._thread if target.thread_id == self._thread.id else await self._load(target)
        if not trigger_turn:
            thread.mailbox.post(self._message(target, "MESSAGE", message))
            return
        running = thread.active_turn is not None and not thread.active_turn.finished
        if not running and tree.running_count(self._session_id) >= tree.max_threads:
            raise AgentError("agent thread limit reached")
        await tree.start_task(thread, self._message(target, "NEW_TASK", message), self._origin())

    async def send_input(
        self, target: AgentInfo, inputs: list[UserInput], *, interrupt: bool
    ) -> str:
        thread = await self._load(target)
        if interrupt:
            await self._stop(thread)
        return await self._tree.start_input(thread, inputs, self._origin())

    async def _stop(self, thread: LoadedThread) -> None:
        active = thread.active_turn
        if active is None or active.finished:
            return
        task = active.task
        active.interrupt()
        if task is not None:
            await asyncio.wait({task}, timeout=INTERRUPT_WAIT_SECONDS)

    async def interrupt(self, target: AgentInfo) -> None:
        thread = self._tree.manager.loaded(target.thread_id)
        if thread is not None:
            await self._stop(thread)

    async def close(self, target: AgentInfo) -> None:
        tree = self._tree
        doomed = [target.thread_id]
        for state in tree.agents_of(self._session_id):  # spawned in order: parents come first
            if state.parent_id in doomed and not state.closed:
                doomed.append(state.info.thread_id)
        for thread_id in reversed(doomed):
            thread = tree.manager.loaded(thread_id)
            if thread is not None:
                await self._stop(thread)
            closing = tree.agent(thread_id)
            if closing is not None:
                closing.closed = True
                tree.set_status(thread_id, "shutdown")
            if thread is not None:
                await tree.manager.unloader.unload(thread)

    async def reopen(self, target: AgentInfo) -> AgentInfo:
        state = self._tree.agent(target.thread_id)
        if state is None:
            raise AgentError(f"agent with id {target.thread_id} not found")
        state.closed = False
        await self._load(state.info)
        status = "completed" if state.info.status == "shutdown" else state.info.status
        state.info = replace(state.info, status=status)
        return state.info

    async def wait_for_final(
        self, targets: list[AgentInfo], timeout_seconds: float
    ) -> list[AgentInfo]:
        deadline = time.monotonic() + timeout_seconds
        while True:
            current = [self._tree.agent(t.thread_id) for t in targets]
            final = [s.info for s in current if s is not None and s.info.status in FINAL_STATUSES]
            if final:
                return final
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not await self._tree.changed(remaining):
                return []
