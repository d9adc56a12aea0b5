"""A loaded thread's model history, read once from its rollout, and the token usage codex 0.169
replays to a client that resumes or forks a thread (`thread/tokenUsage/updated` right after the
response, so a client's context meter starts where the thread left off)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app_server.agent.token_usage import breakdown
from app_server.rollout.context_windows import ContextWindow
from app_server.rollout.model_history import ModelHistory
from protocol.types import ThreadTokenUsage, ThreadTokenUsageUpdatedNotification

if TYPE_CHECKING:
    from app_server.threads.loaded_thread import LoadedThread
    from app_server.threads.manager import ThreadManager


async def load_model_history(manager: ThreadManager, thread: LoadedThread) -> ModelHistory:
    """The thread's model history, read from its rollout the first time (a new thread has an
    empty one); the recorded token totals seed the thread's running totals."""
    if thread.model_history is None:
        if thread.has_stored_history and thread.writer is not None:
            thread.model_history = await manager.reads.model_history(thread.id)
            if thread.model_history.token_totals:
                thread.tokens.thread.update(thread.model_history.token_totals)
        else:
            thread.model_history = ModelHistory()
        if thread.model_history.window is None:
            thread.model_history.window = ContextWindow.initial(thread.initial_window_id)
    return thread.model_history


async def replayed_token_usage(
    manager: ThreadManager,
    thread: LoadedThread,
    last_turn_id: str | None,
    summary: ModelHistory | None = None,
) -> ThreadTokenUsageUpdatedNotification | None:
    """The usage published last while the thread was loaded, else the usage recorded last in
    its history (`last_turn_id`: the history's last turn), or None when there is none (a thread
    without a turn: codex sends nothing then). `summary`: the model history without its items
    that the read of the history folded too (`ThreadHistory.model_summary`), which spares
    reading the model items before the thread's first turn needs them."""
    if thread.last_token_usage is not None:
        return thread.last_token_usage
    if last_turn_id is None or not thread.has_stored_history:
        return None
    if thread.model_history is not None or summary is None:
        history = await load_model_history(manager, thread)
    else:
        history = summary
    if not history.token_totals:
        return None
    return ThreadTokenUsageUpdatedNotification(
        thread_id=thread.id,
        turn_id=last_turn_id,
        token_usage=ThreadTokenUsage(
            total=breakdown(history.token_totals),
            last=breakdown(history.last_token_usage or {}),
            model_context_window=history.model_context_window,
        ),
    )
