"""`fuzzyFileSearch` (one-shot) and `fuzzyFileSearch/sessionStart|sessionUpdate|sessionStop` with
`fuzzyFileSearch/sessionUpdated` and `sessionCompleted`: the `@`-mention file picker.

One-shot: a later search with the same `cancellationToken` cancels an earlier one still running,
which then answers no files. Sessions belong to their connection: the roots are walked once at
start, which answers the empty query when the walk is done; each update answers with a
`sessionUpdated` for that query, then `sessionCompleted`.
"""

from __future__ import annotations

import asyncio

from msgspec import Struct, field

from app_server.api.path_params import absolute_path
from app_server.client_connection import ClientConnection
from app_server.errors import InvalidRequest
from app_server.file_search.index import FileIndex, Match
from app_server.file_search.sessions import IndexCache, search
from app_server.notification import notification
from protocol.types import (
    FuzzyFileSearchParams,
    FuzzyFileSearchResponse,
    FuzzyFileSearchResult,
    FuzzyFileSearchSessionCompletedNotification,
    FuzzyFileSearchSessionStartParams,
    FuzzyFileSearchSessionStartResponse,
    FuzzyFileSearchSessionStopParams,
    FuzzyFileSearchSessionStopResponse,
    FuzzyFileSearchSessionUpdatedNotification,
    FuzzyFileSearchSessionUpdateParams,
    FuzzyFileSearchSessionUpdateResponse,
)


def results(matches: list[Match]) -> list[FuzzyFileSearchResult]:
    return [
        FuzzyFileSearchResult(
            root=m.root,
            path=m.path,
            file_name=m.file_name,
            match_type="directory" if m.is_directory else "file",
            score=m.score,
            indices=m.indices,
        )
        for m in matches
    ]


def roots_param(roots: list[str]) -> list[str]:
    """The roots, each absolute (-32602 naming the field otherwise) and normalized."""
    checked = []
    for n, root in enumerate(roots):
        checked.append(absolute_path(f"roots[{n}]", root))
    return checked


class _Session(Struct):
    indexes: asyncio.Future[list[FileIndex]]
    latest: asyncio.Event = field(default_factory=asyncio.Event)


class FuzzyFileSearchHandlers:
    """Handlers of the file-search methods; holds the sessions and the one-shot index cache."""

    def __init__(self) -> None:
        self._cache = IndexCache()
        self._tokens: dict[str, asyncio.Event] = {}
        self._sessions: dict[tuple[int, str], _Session] = {}

    async def search(
        self, connection: ClientConnection, params: FuzzyFileSearchParams
    ) -> FuzzyFileSearchResponse:
        roots = roots_param(params.roots)
        cancelled = asyncio.Event()
        token = params.cancellation_token
        if token is not None:
            previous = self._tokens.get(token)
            if previous is not None:
                previous.set()
            self._tokens[token] = cancelled
        try:
            indexes = [await self._cache.get(root) for root in roots]
            if cancelled.is_set():
                return FuzzyFileSearchResponse(files=[])
            matches = await search(indexes, params.query, cancelled)
            return FuzzyFileSearchResponse(files=[] if cancelled.is_set() else results(matches))
        finally:
            if token is not None and self._tokens.get(token) is cancelled:
                del self._tokens[token]

    async def session_start(
        self, connection: ClientConnection, params: FuzzyFileSearchSessionStartParams
    ) -> FuzzyFileSearchSessionStartResponse:
        """Walk the roots once; when the walk is done, answer the empty query (an empty
        `sessionUpdated`, then `sessionCompleted`), as codex does."""
        roots = roots_param(params.roots)
        if not roots:
            raise InvalidRequest(
                "failed to start fuzzy file search session: at least one search directory is "
                "required"
            )

        async def build() -> list[FileIndex]:
            return list(
                await asyncio.gather(*(asyncio.to_thread(FileIndex.build, r) for r in roots))
            )

        walk = asyncio.ensure_future(build())
        key = (connection.connection_id, params.session_id)
        old = self._sessions.get(key)
        if old is not None:
            old.latest.set()
        session = _Session(walk)
        self._sessions[key] = session
        self._answer(connection, key, session, "")
        return FuzzyFileSearchSessionStartResponse()

    async def session_update(
        self, connection: ClientConnection, params: FuzzyFileSearchSessionUpdateParams
    ) -> FuzzyFileSearchSessionUpdateResponse:
        key = (connection.connection_id, params.session_id)
        session = self._sessions.get(key)
        if session is None:
            raise InvalidRequest(f"fuzzy file search session not found: {params.session_id}")
        self._answer(connection, key, session, params.query)
        return FuzzyFileSearchSessionUpdateResponse()

    def _answer(
        self, connection: ClientConnection, key: tuple[int, str], session: _Session, query: str
    ) -> None:
        """Answer `query` in the background once the walk is done: `sessionUpdated`, then
        `sessionCompleted`; nothing when a newer query (or the session's end) supersedes it."""
        session.latest.set()  # a newer query supersedes one still being answered
        mine = asyncio.Event()
        session.latest = mine
        session_id = key[1]

        async def answer() -> None:
            indexes = await asyncio.shield(session.indexes)
            matches = await search(indexes, query, mine)
            if mine.is_set() or self._sessions.get(key) is not session:
                return
            connection.notify(
                notification(
                    FuzzyFileSearchSessionUpdatedNotification(
                        session_id=session_id, query=query, files=results(matches)
                    )
                )
            )
            connection.notify(
                notification(FuzzyFileSearchSessionCompletedNotification(session_id=session_id))
            )

        _keep(asyncio.ensure_future(answer()))

    async def session_stop(
        self, connection: ClientConnection, params: FuzzyFileSearchSessionStopParams
    ) -> FuzzyFileSearchSessionStopResponse:
        session = self._sessions.pop((connection.connection_id, params.session_id), None)
        if session is not None:
            session.latest.set()
        return FuzzyFileSearchSessionStopResponse()

    def connection_closed(self, connection: ClientConnection) -> None:
        """Drop the connection's sessions."""
        for key in [k for k in self._sessions if k[0] == connection.connection_id]:
            self._sessions.pop(key).latest.set()


_answering: set[asyncio.Future[None]] = set()


def _keep(task: asyncio.Future[None]) -> None:
    _answering.add(task)
    task.add_done_callback(_answering.discard)
