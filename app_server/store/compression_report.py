"""`CompressionReport`: what one cold-rollout compression run did (STORAGE.md §6).

Here, beside the store contract, because every `ThreadStore` returns one from
`compress_cold_rollouts` (the in-memory store an empty one); the local store's worker fills it.
Plain data: no I/O.
"""

from __future__ import annotations

from typing import Literal

from msgspec import Struct, field

RunSkipReason = Literal["disabled", "marker", "maintenance_busy"]
"""Why a whole run did not happen: compression is switched off; another run finished less than
6 h ago (the run marker is fresh); another process holds the maintenance lock."""

FileSkipReason = Literal[
    "recent", "live", "exists", "changed", "missing", "verify_failed", "stopped"
]
"""Why one plain rollout was not compressed: written to recently; a writer holds the thread; a
`.zst` already exists; it changed while being compressed; it vanished; the compressed copy did
not verify; the run was stopped (shutdown) before it was published."""


class CompressionReport(Struct):
    """Counters of one run. `files_seen` plain rollouts = compressed + skipped + failed (+ those
    not reached when the run hit its time limit)."""

    skipped_run: RunSkipReason | None = None
    """Set when the run did not take place (then every counter is 0)."""
    files_seen: int = 0
    """Plain `rollout-*.jsonl` files found under `archived_sessions/` and `sessions/`."""
    compressed: int = 0
    skipped: dict[FileSkipReason, int] = field(default_factory=dict)
    failed: int = 0
    """Files whose compression raised an I/O error (logged; they stay plain)."""
    bytes_before: int = 0
    """Plain bytes of the files that were compressed."""
    bytes_after: int = 0
    """Compressed bytes of those files."""
    stale_temps_removed: int = 0
    timed_out: bool = False
    """The run stopped at its maximum runtime; the rest waits for the next run."""
    seconds: float = 0.0

    def skip(self, reason: FileSkipReason) -> None:
        """Count one file skipped for `reason`."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
