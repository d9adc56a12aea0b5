"""Read-only thread methods: thread/list, thread/search, thread/read, thread/turns/list,
thread/loaded/list.

None of them loads a thread or subscribes the caller. Stored threads are answered from the
store, through the manager's `reads` (which flushes a loaded thread's writer first, so what is
read includes everything it appended); a loaded thread contributes its live status. Store
refusals propagate: `app_server.rpc.store_errors` words them as 0.169 does for each method.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from app_server.api.path_params import check_home_path, check_home_paths
from app_server.api.reply import Reply
from app_server.client_connection import ClientConnection
from app_server.errors import InvalidParams, InvalidRequest
from app_server.notification import notification
from app_server.settings import resolve_cwd
from app_server.store.errors import ThreadNotStored
from app_server.store.records import ThreadRecord, thread_from_record
from app_server.store.thread_marks import MetadataPatch
from app_server.store.thread_query import ThreadQuery
from app_server.store.turn_pages import TurnPageRequest, page_for_request
from app_server.threads.manager import ThreadManager, thread_id_param
from app_server.threads.metadata_patch import patched_thread
from app_server.threads.thread_marks import ThreadMarks
from app_server.threads.thread_metadata import patches_for
from protocol import types as wire
from protocol.types import (
    Thread,
    ThreadListParams,
    ThreadListResponse,
)

if TYPE_CHECKING:  # created on first use (through `wire` at run time), not by a first turn
    from protocol.types import (
        ThreadLoadedListParams,
        ThreadLoadedListResponse,
        ThreadReadParams,
        ThreadReadResponse,
        ThreadSearchParams,
        ThreadSearchResponse,
        ThreadTurnsListParams,
        ThreadTurnsListResponse,
    )

MAX_EXCLUDED_THREAD_IDS = 100
"""`thread/list.excludedThreadIds` is capped (0.169's limit): it becomes a SQL `NOT IN` list."""

MAX_INCLUDED_THREAD_IDS = 100
"""`thread/list.includedThreadIds` is capped (codex 0.171's limit): it becomes a SQL `IN` list."""

MAX_FILTER_VALUES = 1000
"""Values one `thread/list` filter list (`cwd`, `modelProviders`) may hold. Each is a bound
SQL parameter of an `IN` list; without a cap a 16 MiB message could carry millions, past
SQLite's limit on parameters (an internal error) and costing memory for nothing."""

INCLUDE_TURNS_DEPRECATED = (
    "Full-history hydration is deprecated for paginated threads; omit `includeTurns` or set it "
    "to `false`, then page with `thread/turns/list` and `thread/items/list`."
)


def _check_filter_size(field: str, values: list[str]) -> None:
    if len(values) > MAX_FILTER_VALUES:
        raise InvalidParams(
            f"Invalid params: `{field}`: at most {MAX_FILTER_VALUES} values are accepted"
        )


def has_read_state(thread: Thread) -> bool:
    """Codex keeps read receipts for durable threads that are not sub-agents (others read
    `readState: null` and are left out of `readStates`)."""
    return thread.parent_thread_id is None and not thread.ephemeral


class ThreadQueryHandlers:
    """Handlers of the methods that only read threads."""

    def __init__(self, manager: ThreadManager) -> None:
        self._manager = manager
        self._marks = ThreadMarks(manager)

    @property
    def _data_dir(self) -> Path:
        return self._manager.data_dir

    # -- thread/list -----------------------------------------------------------------------------
    def _query(self, params: ThreadListParams) -> ThreadQuery:
        if params.parent_thread_id is not None and params.ancestor_thread_id is not None:
            raise InvalidRequest("parentThreadId and ancestorThreadId are mutually exclusive")
        if params.sort_key == "section_position" and "section_id" not in params.model_fields_set:
            raise InvalidRequest("section-position sorting requires a section filter")
        if params.originators:
            raise InvalidParams("originator filtering is not supported by the local app-server")
        excluded = tuple(params.excluded_thread_ids or ())
        if len(excluded) > MAX_EXCLUDED_THREAD_IDS:
            raise InvalidParams(
                f"invalid excluded thread ids: at most {MAX_EXCLUDED_THREAD_IDS} are accepted"
            )
        for value in excluded:
            try:
                uuid.UUID(value)
            except ValueError:
                raise InvalidParams(f"invalid excluded thread id: {value}") from None
        included = _included_ids(params.included_thread_ids)
        cwds: tuple[str, ...] | None = None
        if isinstance(params.cwd, str):
            cwds = (resolve_cwd(check_home_path("cwd", params.cwd), self._manager.server_cwd),)
        elif params.cwd is not None:
            _check_filter_size("cwd", params.cwd)
            check_home_paths("cwd", params.cwd)
            cwds = tuple(resolve_cwd(value, self._manager.server_cwd) for value in params.cwd)
        if params.model_providers:
            _check_filter_size("modelProviders", params.model_providers)
        return ThreadQuery(
            archived=params.archived,
            cwds=cwds,
            model_providers=tuple(params.model_providers) if params.model_providers else None,
            source_kinds=tuple(params.source_kinds) if params.source_kinds else None,
            search_term=params.search_term or None,
            parent_thread_id=params.parent_thread_id,
            ancestor_thread_id=params.ancestor_thread_id,
            attached_to_thread_id=params.attached_to_thread_id,
            excluded_ids=excluded,
            included_ids=included,
            include_attached=bool(params.include_attached_threads),
            sort_key=params.sort_key or "created_at",
            sort_direction=params.sort_direction or "desc",
            limit=params.limit,
            cursor=params.cursor,
            state_db_only=bool(params.use_state_db_only),
        )

    def _listed_thread(self, record: ThreadRecord, patch: MetadataPatch | None) -> Thread:
        """A thread as `thread/list` shows it (0.169 leaves `forkedFromId` and `threadSource`
        null in listings; `thread/read` has them; a loaded thread lists its `environments`),
        with its metadata patch."""
        loaded = self._manager.loaded(record.id)
        thread = patched_thread(thread_from_record(record, self._data_dir), patch)
        update: dict[str, object] = {"forked_from_id": None, "thread_source": None}
        if loaded is not None:
            update["status"] = loaded.status
            update["environments"] = [loaded.environment()]
        return thread.model_copy(update=update)

    async def list(
        self, connection: ClientConnection, params: ThreadListParams
    ) -> ThreadListResponse:
        query = self._query(params)
        page = await self._manager.store.list_threads(query)
        patches = await patches_for(self._manager, page.records)
        threads = [self._listed_thread(record, patches.get(record.id)) for record in page.records]
        read_states = await self._marks.read_states(
            [thread.id for thread in threads if has_read_state(thread)]
        )
        return ThreadListResponse(
            data=threads,
            next_cursor=page.next_cursor,
            backwards_cursor=page.backwards_cursor,
            read_states=read_states,
        )

    # -- thread/search ---------------------------------------------------------------------------
    async def search(
        self, connection: ClientConnection, params: ThreadSearchParams
    ) -> ThreadSearchResponse:
        term = params.search_term.strip()
        if not term:
            raise InvalidRequest("thread/search requires a non-empty searchTerm")
        query = ThreadQuery(
            archived=params.archived,
            source_kinds=tuple(params.source_kinds) if params.source_kinds else None,
            include_attached=bool(params.include_attached_threads),
            sort_key=params.sort_key or "created_at",
            sort_direction=params.sort_direction or "desc",
            limit=params.limit,
            cursor=params.cursor,
        )
        found = await self._manager.store.search_threads(query, term)
        patches = await patches_for(self._manager, found.page.records)
        return wire.ThreadSearchResponse(
            data=[
                wire.ThreadSearchResult(
                    thread=self._listed_thread(record, patches.get(record.id)),
                    snippet=found.snippets.get(record.id, ""),
                )
                for record in found.page.records
            ],
            next_cursor=found.page.next_cursor,
            backwards_cursor=found.page.backwards_cursor,
        )

    # -- thread/read -----------------------------------------------------------------------------
    async def read(
        self, connection: ClientConnection, params: ThreadReadParams
    ) -> ThreadReadResponse | Reply:
        """The thread, with every turn if asked. The turns stay the JSON the store kept them
        as and go into the response as is (`Reply.turns_json`): a huge history is never held
        as models (issue 17)."""
        thread_id = thread_id_param(params.thread_id)
        loaded = self._manager.loaded(thread_id)
        if loaded is not None and not loaded.persisted:
            thread = loaded.thread(self._data_dir)
            return wire.ThreadReadResponse(thread=thread, read_state=None)
        record = await self._manager.reads.record(thread_id)
        if record is None:
            raise ThreadNotStored(thread_id)
        turns_json: list[bytes] | None = None
        if params.include_turns:
            if record.history_mode == "paginated":
                connection.notify(
                    notification(
                        wire.DeprecationNoticeNotification(summary=INCLUDE_TURNS_DEPRECATED),
                    )
                )
            history = await self._manager.reads.read_history(thread_id)
            record = history.record
            turns_json = [entry.turn_json() for entry in history.turns]
            del history  # the entries hold the same JSON; only the list of parts is kept
        if loaded is not None:
            loaded.record = record
            thread = loaded.thread(self._data_dir)
        else:
            patch = (await self._manager.store.metadata_patches([thread_id])).get(thread_id)
            thread = patched_thread(thread_from_record(record, self._data_dir), patch)
        state = await self._marks.read_state(thread_id) if has_read_state(thread) else None
        response = wire.ThreadReadResponse(thread=thread, read_state=state)
        if turns_json is None:
            return response
        return Reply(response, turns_json=turns_json)

    # -- thread/turns/list -----------------------------------------------------------------------
    async def turns_list(
        self, connection: ClientConnection, params: ThreadTurnsListParams
    ) -> ThreadTurnsListResponse:
        thread_id = thread_id_param(params.thread_id)
        loaded = self._manager.loaded(thread_id)
        request = TurnPageRequest(
            cursor=params.cursor,
            limit=params.limit,
            sort_direction=params.sort_direction,
            items_view=params.items_view,
        )
        if loaded is not None and not loaded.persisted:  # nothing written yet
            page = page_for_request(
                thread_id, [], history_mode=loaded.record.history_mode, request=request
            )
        else:
            page = await self._manager.reads.turn_page(thread_id, request)
        return page.to_response()

    # -- thread/loaded/list ----------------------------------------------------------------------
    async def loaded_list(
        self, connection: ClientConnection, params: ThreadLoadedListParams
    ) -> ThreadLoadedListResponse:
        ids = sorted(self._manager.loaded_ids())
        if params.cursor:
            ids = [thread_id for thread_id in ids if thread_id > params.cursor]
        if params.limit and len(ids) > params.limit:
            ids = ids[: params.limit]
            return wire.ThreadLoadedListResponse(data=ids, next_cursor=ids[-1])
        return wire.ThreadLoadedListResponse(data=ids, next_cursor=None)


def _included_ids(values: list[str] | None) -> tuple[str, ...] | None:
    """`includedThreadIds` checked as codex 0.171 checks it (at most 100 thread ids)."""
    if values is None:
        return None
    if len(values) > MAX_INCLUDED_THREAD_IDS:
        raise InvalidParams(f"includedThreadIds accepts at most {MAX_INCLUDED_THREAD_IDS} entries")
    for value in values:
        try:
            uuid.UUID(value)
        except ValueError:
            raise InvalidParams(f"invalid included thread id: {value}") from None
    return tuple(values)
