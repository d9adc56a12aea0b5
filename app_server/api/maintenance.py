"""`rollout/compress` (experimental): run the cold-rollout compression now (STORAGE.md §6).

0.169 answers `{}` at once and compresses in the background, subject to its 6-hour run marker
(so a second call within 6 h does nothing). Here the call forces a run — the marker's age is
ignored, the maintenance lock still applies, a run in progress is waited for — and answers `{}`
when that run has finished, so a client (or a test, or a script) that gets the answer knows the
cold files are compressed. The dispatcher has already refused params other than none or `{}`
(`-32602`) and connections without `experimentalApi` (`-32600`). With compression switched off
in the config, nothing is compressed and the answer is the same `{}`.
"""

from __future__ import annotations

import logging

from app_server.client_connection import ClientConnection
from app_server.store.interface import ThreadStore
from protocol.types import RolloutCompressResponse

log = logging.getLogger(__name__)


class MaintenanceHandlers:
    """Handlers of the store-maintenance methods."""

    def __init__(self, store: ThreadStore) -> None:
        self._store = store

    async def rollout_compress(
        self, connection: ClientConnection, params: None
    ) -> RolloutCompressResponse:
        """Force a compression run and answer `{}` once it is over."""
        report = await self._store.compress_cold_rollouts(force=True)
        log.info("rollout/compress from %s: %s", connection.connection_id, report)
        return RolloutCompressResponse()
