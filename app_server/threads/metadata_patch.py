"""How a thread's metadata patch (`thread/metadata/update`) shows on the wire `Thread`.

Pure and free of the thread manager, so both the loaded thread's own view and the stored
views (`thread/read`, `thread/list`, unarchive) lay the patch over a thread the same way.
"""

from __future__ import annotations

from app_server.store.thread_marks import MetadataPatch
from protocol.types import GitInfo, Thread


def patched_thread(thread: Thread, patch: MetadataPatch | None) -> Thread:
    """`thread` with a metadata patch laid over it (unchanged without one)."""
    if patch is None:
        return thread
    update: dict[str, object] = {}
    if patch.git:
        current = thread.git_info
        values = {
            "sha": current.sha if current is not None else None,
            "branch": current.branch if current is not None else None,
            "origin_url": current.origin_url if current is not None else None,
            **patch.git,
        }
        update["git_info"] = GitInfo(**values)
    if patch.daybreak_enabled is not None:
        update["daybreak_enabled"] = patch.daybreak_enabled
    return thread.model_copy(update=update) if update else thread
