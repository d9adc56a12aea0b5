"""Thread lifecycle methods: start, resume, fork, archive, unarchive, name/set, delete, unsubscribe.

Thin: each handler checks what only the wire can tell (mutually exclusive params, experimental
paths), asks the `ThreadManager`, and shapes the response and the notifications around it in
0.169's order (PROTOCOL.md §7).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from app_server.api.path_params import check_home_path, check_optional_home_path
from app_server.api.reply import Reply
from app_server.api.resume_cursors import resume_cursors
from app_server.client_connection import ClientConnection
from app_server.errors import InvalidParams
from app_server.notification import notification
from app_server.rollout.file_names import parse_rollout_file_name
from app_server.rollout.turn_entry import TurnEntry
from app_server.store.interface import ThreadHistory
from app_server.store.records import thread_from_record
from app_server.threads.join_hold import Snapshot
from app_server.threads.loaded_thread import LoadedThread
from app_server.threads.manager import ThreadManager, thread_id_param
from app_server.threads.metadata_patch import patched_thread
from app_server.threads.permission_profile import active_permission_profile
from app_server.threads.settings_report import wire_collaboration_mode
from app_server.threads.stored_operations import StoredThreadOperations
from app_server.threads.thread_marks import ThreadMarks
from app_server.threads.token_replay import replayed_token_usage
from protocol import types as wire
from protocol.types import (
    IdleThreadStatus,
    ThreadStartParams,
    ThreadStartResponse,
)

if TYPE_CHECKING:  # created on first use (through `wire` at run time), not by a first turn
    from protocol.types import (
        DeprecationNoticeNotification,
        ThreadArchiveParams,
        ThreadDeleteParams,
        ThreadForkParams,
        ThreadResumeParams,
        ThreadSetNameParams,
        ThreadUnarchiveParams,
        ThreadUnsubscribeParams,
        ThreadUnsubscribeResponse,
    )

HYDRATION_DEPRECATED = (
    "Full-history hydration is deprecated for paginated threads; use `excludeTurns: true`, then "
    "page with `thread/turns/list` and `thread/items/list`."
)


def settings_fields(thread: LoadedThread, manager: ThreadManager) -> dict[str, Any]:
    """The fields thread/start, resume and fork responses share, from the thread's settings.
    `activePermissionProfile` is null when the thread's sandbox is not the configured default
    (chosen by the request, or when the thread started), as codex 0.169 answers."""
    settings = thread.settings
    return {
        "model": settings.model,
        "model_provider": settings.model_provider,
        "service_tier": settings.service_tier,
        "reasoning_effort": settings.reasoning_effort,
        "cwd": settings.cwd,
        "approval_policy": settings.approval_policy,
        "approvals_reviewer": settings.approvals_reviewer,
        "sandbox": settings.sandbox,
        "runtime_workspace_roots": settings.runtime_workspace_roots,
        "disabled_plugin_ids": list(settings.disabled_plugin_ids),
        "active_permission_profile": active_permission_profile(settings, manager.default_sandbox()),
    }


def turns_json_of(history: ThreadHistory | None) -> list[bytes]:
    """A history's turns as the wire JSON the store kept them as (none without a history): they
    go into the response as is (`Reply.turns_json`), never built into models (issue 17)."""
    return [entry.turn_json() for entry in history.turns] if history is not None else []


RECENT_TURNS = 3
"""The last turns of a resume answer compared with the events held while it was read
(`threads.join_hold`): only turns running or started during that read can have held events;
three cover a turn ending and the next two starting within one read."""


class ThreadLifecycleHandlers:
    """Handlers of the methods that load, create or change threads."""

    def __init__(self, manager: ThreadManager, stored: StoredThreadOperations) -> None:
        self._manager = manager
        self._stored = stored
        self._marks = ThreadMarks(manager)

    @property
    def _data_dir(self) -> Path:
        return self._manager.data_dir

    async def start(self, connection: ClientConnection, params: ThreadStartParams) -> Reply:
        check_optional_home_path("cwd", params.cwd)
        thread = self._manager.start(
            connection,
            params,
            history_mode=params.history_mode or "paginated",
            ephemeral=bool(params.ephemeral),
        )
        response = ThreadStartResponse(
            thread=thread.thread(self._data_dir),
            **settings_fields(thread, self._manager),
        )
        return Reply(response, then=lambda: self._manager.announce_started(thread))

    async def resume(self, connection: ClientConnection, params: ThreadResumeParams) -> Reply:
        thread_id = thread_id_param(params.thread_id)
        check_optional_home_path("cwd", params.cwd)
        if params.path is not None:
            self._check_resume_path(thread_id, params.path)
        if params.history is not None:
            raise InvalidParams("thread/resume.history is not supported by this server")
        thread, history = await self._manager.resume(connection, thread_id, params)
        try:
            return await self._answer_resume(connection, thread, history, params)
        except BaseException:
            thread.joining.release(connection)  # whatever happened meanwhile still reaches it
            raise

    async def _answer_resume(
        self,
        connection: ClientConnection,
        thread: LoadedThread,
        history: ThreadHistory | None,
        params: ThreadResumeParams,
    ) -> Reply:
        """The answer to a resume that loaded or joined the thread; what the thread published
        since the client joined and the answer does not show follows it (`threads.join_hold`)."""
        thread_id = thread.id
        if history is not None:
            self._manager.set_status(thread, IdleThreadStatus())
        freshly_loaded = history is not None
        last_turn = history.turns[-1].turn_id if history is not None and history.turns else None
        if history is None and thread.persisted:  # already loaded: read once, for all below
            history = await self._manager.reads.read_history(thread.id)
        if not params.exclude_turns and thread.record.history_mode == "paginated":
            connection.notify(notification(deprecation(HYDRATION_DEPRECATED)))
        turns_cursor, items_cursor = resume_cursors(thread.id, history)
        summary = history.model_summary if history is not None else None
        usage = (  # codex 0.169 replays it only with the turns (observed)
            None
            if params.exclude_turns
            else await replayed_token_usage(self._manager, thread, last_turn, summary)
        )
        response = wire.ThreadResumeResponse(
            thread=thread.thread(self._data_dir),
            turns_backwards_cursor=turns_cursor,
            items_backwards_cursor=items_cursor,
            collaboration_mode=wire_collaboration_mode(thread.settings),  # resume only, as codex
            **settings_fields(thread, self._manager),
        )
        goal = await self._marks.goal(thread_id)
        turns_json: list[bytes] | None = None
        recent: list[TurnEntry] = []
        if not params.exclude_turns:
            turns_json = turns_json_of(history)
            recent = history.turns[-RECENT_TURNS:] if history is not None else []
        del history  # only the turns' JSON is kept

        def then() -> None:
            answered = None
            if not params.exclude_turns:
                answered = Snapshot.of(recent, thread.joining.held_turn_ids(connection))
            thread.joining.release(connection, answered)
            if usage is not None:
                connection.notify(notification(usage))
            self._marks.announce_resumed_goal(connection, thread_id, goal)
            if freshly_loaded:  # its MCP servers start with it, as a new thread's do
                self._manager.announce_mcp_startup(thread)

        return Reply(response, then=then, turns_json=turns_json)

    def _check_resume_path(self, thread_id: str, raw: str) -> None:
        """`path` must be this thread's rollout file: never a directory or an arbitrary file."""
        check_home_path("path", raw)
        try:
            path = Path(raw).expanduser()
            if not path.is_file():
                raise InvalidParams(f"thread/resume.path is not a rollout file: {raw}")
            resolved = path.resolve()
        except (OSError, RuntimeError) as exc:  # no permission, symlink loop, no home dir, …
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise InvalidParams(f"Invalid params: `path`: cannot be read ({reason})") from None
        parsed = parse_rollout_file_name(path.name)
        if parsed is None:
            raise InvalidParams(f"thread/resume.path is not a rollout file: {raw}")
        if parsed.thread_id != thread_id:
            raise InvalidParams(
                f"thread/resume.path is the rollout of thread {parsed.thread_id}, not {thread_id}"
            )
        data_dir = self._data_dir.resolve()
        if not resolved.is_relative_to(data_dir):
            raise InvalidParams(f"thread/resume.path must be inside the data dir {data_dir}")

    async def fork(self, connection: ClientConnection, params: ThreadForkParams) -> Reply:
        source_id = thread_id_param(params.thread_id)
        check_optional_home_path("cwd", params.cwd)
        if params.last_turn_id is not None or params.before_turn_id is not None:
            raise InvalidParams("forking at a turn (lastTurnId/beforeTurnId) is not supported yet")
        if params.attach_to_source:
            raise InvalidParams("thread/fork.attachToSource is not supported by this server")
        thread = await self._manager.fork(
            connection, source_id, params, ephemeral=bool(params.ephemeral)
        )
        turns_json: list[bytes] | None = None
        history = await self._manager.reads.read_history(thread.id) if thread.persisted else None
        if not params.exclude_turns:
            if thread.record.history_mode == "paginated":
                connection.notify(notification(deprecation(HYDRATION_DEPRECATED)))
            turns_json = turns_json_of(history)
        last_turn = history.turns[-1].turn_id if history is not None and history.turns else None
        del history
        usage = (  # with the turns only, as on resume (observed on codex 0.169)
            None
            if params.exclude_turns
            else await replayed_token_usage(self._manager, thread, last_turn)
        )
        response = wire.ThreadForkResponse(
            thread=thread.thread(self._data_dir),
            **settings_fields(thread, self._manager),
        )

        def then() -> None:  # codex replays the usage before it announces the fork
            if usage is not None:
                connection.notify(notification(usage))
            self._manager.announce_started(thread)

        return Reply(response, then=then, turns_json=turns_json)

    async def archive(self, connection: ClientConnection, params: ThreadArchiveParams) -> Reply:
        thread_id = thread_id_param(params.thread_id)
        await self._stored.archive(thread_id)
        return Reply(
            wire.ThreadArchiveResponse(), then=lambda: self._stored.announce_archived(thread_id)
        )

    async def unarchive(self, connection: ClientConnection, params: ThreadUnarchiveParams) -> Reply:
        thread_id = thread_id_param(params.thread_id)
        record = await self._stored.unarchive(thread_id)
        patch = (await self._manager.store.metadata_patches([record.id])).get(record.id)
        thread = patched_thread(thread_from_record(record, self._data_dir), patch)
        response = wire.ThreadUnarchiveResponse(thread=thread)
        return Reply(response, then=lambda: self._stored.announce_unarchived(thread_id))

    async def set_name(self, connection: ClientConnection, params: ThreadSetNameParams) -> Reply:
        thread_id = thread_id_param(params.thread_id)
        await self._stored.set_name(thread_id, params.name)
        return Reply(
            wire.ThreadSetNameResponse(),
            then=lambda: self._stored.announce_renamed(connection, thread_id, params.name),
        )

    async def delete(self, connection: ClientConnection, params: ThreadDeleteParams) -> Reply:
        thread_id = thread_id_param(params.thread_id)
        deleted = await self._stored.delete(thread_id)
        return Reply(
            wire.ThreadDeleteResponse(), then=lambda: self._stored.announce_deleted(deleted)
        )

    async def unsubscribe(
        self, connection: ClientConnection, params: ThreadUnsubscribeParams
    ) -> ThreadUnsubscribeResponse:
        status = self._manager.unsubscribe(connection, thread_id_param(params.thread_id))
        return wire.ThreadUnsubscribeResponse(status=status)  # type: ignore[arg-type]


def deprecation(summary: str) -> DeprecationNoticeNotification:
    return wire.DeprecationNoticeNotification(summary=summary, details=None)
