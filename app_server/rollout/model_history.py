"""The model-visible history of a thread: what a resumed thread sends the model (AGENT_LOOP §2.3).

Every `response_item` line, in order, across the thread's lineage: a paginated fork's base lines
(up to its `history_base.end_byte_offset`, recursively) come first, then its own. That order is
exactly what the live thread sent, so a resumed thread re-sends byte-identical prefixes. A
`compacted` line replaces everything before it with its `replacement_history` and starts a new
context window; `world_state` lines replay into the environment the model was last told about;
the last `token_count` gives the running token totals and the size of the latest request. A
`thread_rolled_back` line (`thread/revert`) puts everything back as it was when the first dropped
turn started (`TurnMark`). Pure: I/O happens in the loader.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from msgspec import Struct, field

from app_server.rollout.compacted_history import legacy_replacement
from app_server.rollout.context_windows import ContextWindow
from app_server.rollout.history import BaseLoader, HistoryLineageError, RolloutLines
from app_server.rollout.thread_metadata import parse_history_base
from app_server.rollout.world_state import WorldState

MAX_LINEAGE_DEPTH = 64


class ModelHistory(Struct):
    """A thread's model-visible items in order — exactly as the model is sent them, rollout-only
    annotations dropped — and the token totals recorded with them (None if never recorded)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    token_totals: dict[str, int] | None = None
    base_instructions: str | None = None
    """The system prompt recorded in the thread's `session_meta` (sent as `instructions`)."""
    multi_agent_version: str | None = None
    """`session_meta.multi_agent_version`: which multi-agent tools the thread was made with."""
    window: ContextWindow | None = None
    """The context window the thread is in (None: not known yet, a thread without a rollout)."""
    world_state: WorldState = field(default_factory=WorldState)
    """What the thread's context last told the model about its environment."""
    last_usage_tokens: int | None = None
    """`total_tokens` of the latest model response in the current window (None after a
    compaction, until the next response): what auto-compaction compares with its limit."""
    last_token_usage: dict[str, int] | None = None
    """The latest `token_count`'s `last_token_usage` (replayed to a resuming client)."""
    model_context_window: int | None = None
    """The latest `token_count`'s `model_context_window`."""


ROLLOUT_ONLY_FIELDS = frozenset({"internal_chat_message_metadata_passthrough"})
"""Fields codex adds to `response_item` payloads for itself; the model never sees them, so the
history drops them once here instead of on every request."""


def model_item(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A `response_item` payload as the model is sent it."""
    return {k: v for k, v in payload.items() if k not in ROLLOUT_ONLY_FIELDS}


class TurnMark(Struct, frozen=True):
    """What the model history was when a turn started (its `task_started` line): what a
    `thread_rolled_back` dropping that turn restores. Cheap to keep per turn: the item list is
    referenced with its length (a later compaction replaces the list, so the reference still
    holds its prefix), world state as the number of `world_state` payloads folded before."""

    items: list[dict[str, Any]]
    item_count: int
    world_states: int
    token_totals: dict[str, int] | None
    last_token_usage: dict[str, int] | None
    last_usage_tokens: int | None
    model_context_window: int | None
    window: ContextWindow | None


class ModelHistoryFold:
    """Folds one rollout's lines into a `ModelHistory`, one line at a time (`feed`), so a read
    that also folds the turns (a resume) streams the file once for both (issue 17). Only the
    items since the last `compacted` line are kept: the replacement history and what followed.

    `keep_items=False` folds everything but the items (windows, token usage, world state,
    instructions: what a resume replays), and notes in `items_from` where a later read of the
    items alone can start: the byte offset of the last `compacted` line that carries its
    `replacement_history` (None: the items need the whole lineage). Feed it offsets then."""

    def __init__(
        self,
        load_base: BaseLoader,
        *,
        history: ModelHistory | None = None,
        depth: int = 0,
        keep_items: bool = True,
    ) -> None:
        self.history = history if history is not None else ModelHistory()
        self._load_base = load_base
        self._depth = depth
        self._keep_items = keep_items
        self._first_meta = True
        self._thread_id = ""
        self.items_from: int | None = None
        """Where the items can be read from alone (`keep_items=False`; see above)."""
        self.failed: Exception | None = None
        """Set by a caller that stopped feeding because a line failed (its history is partial)."""
        self._turn_marks: list[TurnMark] = []
        self._world_states: list[Mapping[str, Any]] = []
        """Every `world_state` payload folded, in order: a rollback replays a prefix of them."""

    def feed(self, line: Mapping[str, Any], offset: int | None = None) -> None:
        """Fold one line (`offset`: its byte offset in the thread's own file); a paginated
        fork's base lines are folded at its first `session_meta`."""
        kind = line.get("type")
        payload = line.get("payload")
        if not isinstance(payload, Mapping):
            return
        history = self.history
        if kind == "response_item":
            if self._keep_items:
                history.items.append(model_item(payload))
        elif kind == "session_meta":
            if self._first_meta:
                self._first_meta = False
                self._thread_id = str(payload.get("id") or "")
                base = _session_meta(history, payload, self._load_base, self._depth)
                if base is not None:  # a rollback may reach into the base's turns
                    self._turn_marks = base._turn_marks + self._turn_marks
                    self._world_states = base._world_states + self._world_states
                # A fork's window 0 is its own, whatever window its source had reached.
                history.window = ContextWindow.from_session_meta(self._thread_id, payload)
        elif kind == "compacted":
            _compacted(history, payload, self._thread_id)
            if not self._keep_items:
                whole = isinstance(payload.get("replacement_history"), list)
                self.items_from = offset if whole else None
                history.items = []
        elif kind == "world_state":
            history.world_state.replay(payload)
            self._world_states.append(payload)
        elif kind == "event_msg":
            event = payload.get("type")
            if event == "token_count":
                _token_count(history, payload)
            elif event == "task_started":
                self._turn_marks.append(self._mark())
            elif event == "thread_rolled_back":
                self._roll_back(payload.get("num_turns"))

    def _mark(self) -> TurnMark:
        history = self.history
        return TurnMark(
            items=history.items,
            item_count=len(history.items),
            world_states=len(self._world_states),
            token_totals=history.token_totals,
            last_token_usage=history.last_token_usage,
            last_usage_tokens=history.last_usage_tokens,
            model_context_window=history.model_context_window,
            window=history.window,
        )

    def _roll_back(self, count: Any) -> None:
        """Drop the last `count` turns: back to the state their first one started from."""
        if not isinstance(count, int) or count <= 0 or not self._turn_marks:
            return
        index = max(0, len(self._turn_marks) - count)
        mark = self._turn_marks[index]
        del self._turn_marks[index:]
        history = self.history
        if self._keep_items:
            history.items = mark.items[: mark.item_count]
        else:  # the items are read again later: from the start, which holds this line too
            self.items_from = None
        del self._world_states[mark.world_states :]
        history.world_state = WorldState()
        for payload in self._world_states:
            history.world_state.replay(payload)
        history.token_totals = mark.token_totals
        history.last_token_usage = mark.last_token_usage
        history.last_usage_tokens = mark.last_usage_tokens
        history.model_context_window = mark.model_context_window
        history.window = mark.window


def collect_model_history(
    lines: Iterable[tuple[int, Mapping[str, Any]]],
    load_base: BaseLoader,
    *,
    history: ModelHistory | None = None,
    depth: int = 0,
) -> ModelHistory:
    """Fold one rollout's lines (and, first, its base's) into `history`."""
    fold = ModelHistoryFold(load_base, history=history, depth=depth)
    for _, line in lines:
        fold.feed(line)
    return fold.history


def collect_model_items(lines: Iterable[tuple[int, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """The model items of a rollout read from a `ModelHistoryFold.items_from` offset on (its
    first line is that `compacted` line, whose replacement history they start with). A later
    `session_meta` (an update of the thread's own) says nothing about them."""
    fold = ModelHistoryFold(_no_base)
    for _, line in lines:
        if line.get("type") != "session_meta":
            fold.feed(line)
    return fold.history.items


def _no_base(thread_id: str, _end: int | None) -> RolloutLines | None:
    raise AssertionError(f"no base is read after a compaction (asked for {thread_id})")


def _session_meta(
    history: ModelHistory, payload: Mapping[str, Any], load_base: BaseLoader, depth: int
) -> ModelHistoryFold | None:
    """Fold the instructions and version, and a paginated fork's base lines (returned: the
    fold of the base, whose turn marks a rollback may need)."""
    instructions = payload.get("base_instructions")
    if isinstance(instructions, Mapping) and isinstance(instructions.get("text"), str):
        history.base_instructions = instructions["text"]
    elif isinstance(instructions, str):
        history.base_instructions = instructions
    version = payload.get("multi_agent_version")
    if depth == 0 and isinstance(version, str):
        history.multi_agent_version = version
    base = parse_history_base(payload.get("history_base"))
    if base is not None:
        if depth >= MAX_LINEAGE_DEPTH:
            raise HistoryLineageError(base.thread_id, "lineage too deep")
        base_lines = load_base(base.thread_id, base.end_byte_offset)
        if base_lines is None:
            raise HistoryLineageError(base.thread_id, "missing source rollout")
        fold = ModelHistoryFold(load_base, history=history, depth=depth + 1)
        for _, line in base_lines:
            fold.feed(line)
        return fold
    return None


def _compacted(history: ModelHistory, payload: Mapping[str, Any], thread_id: str) -> None:
    replacement = payload.get("replacement_history")
    if isinstance(replacement, list):
        history.items = [model_item(item) for item in replacement if isinstance(item, Mapping)]
    else:
        message = payload.get("message")
        history.items = legacy_replacement(
            history.items, message if isinstance(message, str) else ""
        )
    current = history.window or ContextWindow.from_session_meta(thread_id, {})
    history.window = current.after_compacted(thread_id, payload)
    history.last_usage_tokens = None


def _token_count(history: ModelHistory, payload: Mapping[str, Any]) -> None:
    info = payload.get("info")
    if not isinstance(info, Mapping):
        return
    total = info.get("total_token_usage")
    if isinstance(total, Mapping):
        history.token_totals = {str(k): int(v) for k, v in total.items() if isinstance(v, int)}
    last = info.get("last_token_usage")
    if isinstance(last, Mapping):
        history.last_token_usage = {str(k): int(v) for k, v in last.items() if isinstance(v, int)}
        if isinstance(last.get("total_tokens"), int):
            history.last_usage_tokens = last["total_tokens"]
    window = info.get("model_context_window")
    if isinstance(window, int):
        history.model_context_window = window
