"""The metadata half of the history fold: rollout lines → what the thread index row needs.

Sources (STORAGE.md §3.3, §5.5):
- `session_meta`: identity and origin. The thread id (and creation time, lineage) come from the
  *first* `session_meta`; mutable fields (cwd, git, provider, …) from the *last* one that belongs
  to the same thread. `session_meta` lines of other threads (the copied source meta of a legacy
  fork, the copied parent meta of a sub-agent) are ignored.
- `turn_context` / `thread_settings_applied`: latest model, reasoning effort, approval policy
  and sandbox/permission profile.
- `token_count`: latest `info.total_token_usage.total_tokens`.
- user messages (`item_completed` UserMessage, legacy `user_message`): the preview, i.e. the
  first real user message; injected context (`<environment_context>`, …) is skipped.

Pure and resumable like the rest of the fold: `HistoryFold` calls `apply_*` per line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from msgspec import Struct

from app_server.rollout.envelope import parse_timestamp_ms
from app_server.rollout.lines import HistoryMode, JsonObject

INJECTED_USER_TEXT_PREFIXES = (
    "<environment_context>",
    "<user_instructions>",
    "<turn_aborted>",
    "<skill>\n<name>",
    "<user_shell_command>",
    "# AGENTS.md instructions",
)
"""User-role text that codex injects itself; never a thread's preview."""


class HistoryBase(Struct, frozen=True):
    """`session_meta.history_base` of a paginated fork: the base thread's history prefix."""

    thread_id: str
    end_ordinal_exclusive: int | None
    end_byte_offset: int | None


class ThreadMetadata(Struct, frozen=True):
    """Everything the rollout lines say about a thread (no file-system facts like mtime/path).

    `source` is the disk form (`"vscode"`, `{"subagent": {...}}`); `records.source_to_wire`
    converts it. `preview` includes inherited history (forks show their base's first message, as
    codex shows live); `first_user_message` only counts the thread's own lines.
    """

    thread_id: str
    session_id: str
    created_at_ms: int | None
    source: Any
    thread_source: str | None
    parent_thread_id: str | None
    forked_from_id: str | None
    attached_thread: bool
    history_mode: HistoryMode
    history_base: HistoryBase | None
    subagent_history_start_ordinal: int | None
    model_provider: str | None
    cli_version: str | None
    originator: str | None
    cwd: str | None
    agent_nickname: str | None
    agent_role: str | None
    agent_path: str | None
    git_sha: str | None
    git_branch: str | None
    git_origin_url: str | None
    memory_mode: str | None
    model: str | None
    reasoning_effort: str | None
    approval_mode: str | None
    sandbox_policy: str | None
    tokens_used: int
    preview: str
    first_user_message: str
    has_user_event: bool
    last_turn_started_at_ms: int | None
    last_line_at_ms: int | None
    saved_settings: JsonObject | None = None
    """The last `thread_settings_applied.thread_settings` (what `thread/settings/update` saved:
    personality, disabled plugins, collaboration mode), for a resumed thread's settings."""


def user_message_text(record: JsonObject) -> str | None:
    """The text of a user message line, or `None` when the line is not a user message.

    Paginated: `event_msg item_completed` with a `UserMessage` item (text inputs joined by a
    newline). Legacy: `event_msg user_message.message`.
    """
    if record.get("type") != "event_msg":
        return None
    payload = record.get("payload")
    if not isinstance(payload, (dict, Mapping)):
        return None
    kind = payload.get("type")
    if kind == "user_message":
        message = payload.get("message")
        return message if isinstance(message, str) else ""
    if kind == "item_completed":
        item = payload.get("item")
        if isinstance(item, (dict, Mapping)) and item.get("type") == "UserMessage":
            texts = [
                entry["text"]
                for entry in item.get("content") or []
                if isinstance(entry, (dict, Mapping))
                and entry.get("type") == "text"
                and isinstance(entry.get("text"), str)
            ]
            return "\n".join(texts)
    return None


def is_real_user_text(text: str) -> bool:
    """False for empty text and for context codex injects as user messages."""
    stripped = text.lstrip()
    return bool(stripped) and not stripped.startswith(INJECTED_USER_TEXT_PREFIXES)


class MetadataAccumulator:
    """Collects `ThreadMetadata` line by line (see the module docstring)."""

    def __init__(self) -> None:
        self._first_meta: JsonObject | None = None
        self._first_meta_timestamp_ms: int | None = None
        self._mutable: dict[str, Any] = {}
        self._model: str | None = None
        self._reasoning_effort: str | None = None
        self._approval_mode: str | None = None
        self._sandbox_policy: str | None = None
        self._model_provider_fallback: str | None = None
        self._tokens_used = 0
        self._preview: str | None = None
        self._first_user_message: str | None = None
        self._has_user_event = False
        self._last_turn_started_at_ms: int | None = None
        self._last_line_at_ms: int | None = None
        self._saved_settings: JsonObject | None = None

    @property
    def thread_id(self) -> str | None:
        """The id from the first `session_meta`, once seen."""
        if self._first_meta is None:
            return None
        value = self._first_meta.get("id")
        return value if isinstance(value, str) else None

    def apply_own_session_meta(self, payload: JsonObject, record_timestamp: Any) -> None:
        """A `session_meta` of this thread: the first fixes identity, later ones update."""
        if self._first_meta is None:
            self._first_meta = payload
            self._first_meta_timestamp_ms = parse_timestamp_ms(record_timestamp)
        for key in _MUTABLE_META_KEYS:
            if key in payload:
                self._mutable[key] = payload[key]

    def apply_line_time(self, record: JsonObject, *, own: bool) -> None:
        """A line that tells nothing but its time (a `response_item`): what `apply_line` would
        make of it, without looking for settings, usage or user messages."""
        if own:
            timestamp_ms = parse_timestamp_ms(record.get("timestamp"))
            if timestamp_ms is not None:
                self._last_line_at_ms = timestamp_ms

    def apply_line(self, record: JsonObject, *, own: bool) -> None:
        """Any non-`session_meta` line of the visible history (`own`: from this thread's file)."""
        timestamp_ms = parse_timestamp_ms(record.get("timestamp"))
        if own and timestamp_ms is not None:
            self._last_line_at_ms = timestamp_ms
        kind = record.get("type")
        payload = record.get("payload")
        if not isinstance(payload, (dict, Mapping)):
            return
        if kind == "turn_context":
            self._apply_settings(payload)
        elif kind == "event_msg":
            event = payload.get("type")
            if event == "thread_settings_applied":
                settings = payload.get("thread_settings")
                if isinstance(settings, (dict, Mapping)):
                    self._apply_settings(settings)
                    self._saved_settings = settings
                    provider = settings.get("model_provider_id")
                    if isinstance(provider, str):
                        self._model_provider_fallback = provider
            elif event == "token_count":
                self._apply_token_count(payload)
            elif event == "task_started" and own and timestamp_ms is not None:
                self._last_turn_started_at_ms = timestamp_ms
        if self._preview is not None and (self._first_user_message is not None or not own):
            return  # every user message after these changes nothing (one per turn, on 100 MB)
        text = user_message_text(record)
        if text is not None:
            self._has_user_event = True
            if is_real_user_text(text):
                if self._preview is None:
                    self._preview = text
                if own and self._first_user_message is None:
                    self._first_user_message = text

    def snapshot(self) -> ThreadMetadata | None:
        """The metadata so far; `None` until the thread's first `session_meta` was seen."""
        first = self._first_meta
        thread_id = self.thread_id
        if first is None or thread_id is None:
            return None
        mutable = self._mutable
        source = mutable.get("source")
        spawn = _thread_spawn(source)
        git = mutable.get("git")
        git = git if isinstance(git, (dict, Mapping)) else {}
        forked_from_id = _str(first.get("forked_from_id"))
        return ThreadMetadata(
            thread_id=thread_id,
            session_id=_str(mutable.get("session_id")) or thread_id,
            created_at_ms=parse_timestamp_ms(first.get("timestamp"))
            or self._first_meta_timestamp_ms,
            source=source,
            thread_source=_str(mutable.get("thread_source")),
            parent_thread_id=_str(mutable.get("parent_thread_id"))
            or _str(spawn.get("parent_thread_id")),
            forked_from_id=forked_from_id,
            attached_thread=mutable.get("attached_thread") is True,
            history_mode="paginated" if first.get("history_mode") == "paginated" else "legacy",
            history_base=parse_history_base(first.get("history_base")),
            subagent_history_start_ordinal=_int(first.get("subagent_history_start_ordinal")),
            model_provider=_str(mutable.get("model_provider")) or self._model_provider_fallback,
            cli_version=_str(mutable.get("cli_version")),
            originator=_str(mutable.get("originator")),
            cwd=_str(mutable.get("cwd")),
            agent_nickname=_str(mutable.get("agent_nickname")) or _str(spawn.get("agent_nickname")),
            agent_role=_str(mutable.get("agent_role")) or _str(spawn.get("agent_role")),
            agent_path=_str(mutable.get("agent_path")) or _str(spawn.get("agent_path")),
            git_sha=_str(git.get("commit_hash", git.get("sha"))),
            git_branch=_str(git.get("branch")),
            git_origin_url=_str(git.get("repository_url", git.get("origin_url"))),
            memory_mode=_str(mutable.get("memory_mode")),
            model=self._model,
            reasoning_effort=self._reasoning_effort,
            approval_mode=self._approval_mode,
            sandbox_policy=self._sandbox_policy,
            tokens_used=self._tokens_used,
            preview=self._preview or "",
            first_user_message=self._first_user_message or "",
            has_user_event=self._has_user_event,
            last_turn_started_at_ms=self._last_turn_started_at_ms,
            last_line_at_ms=self._last_line_at_ms,
            saved_settings=self._saved_settings,
        )

    def _apply_settings(self, settings: JsonObject) -> None:
        model = settings.get("model")
        if isinstance(model, str) and model:
            self._model = model
        effort: Any = None
        has_effort = False
        if "effort" in settings:
            effort, has_effort = settings.get("effort"), True
        mode = settings.get("collaboration_mode")
        if not has_effort and isinstance(mode, (dict, Mapping)):
            inner = mode.get("settings")
            if isinstance(inner, (dict, Mapping)) and "reasoning_effort" in inner:
                effort, has_effort = inner.get("reasoning_effort"), True
        if has_effort:
            self._reasoning_effort = effort if isinstance(effort, str) and effort else None
        approval = settings.get("approval_policy")
        if isinstance(approval, str):
            self._approval_mode = approval
        elif isinstance(approval, (dict, Mapping)):
            self._approval_mode = _compact_json(approval)
        for key in ("permission_profile", "sandbox_policy"):
            policy = settings.get(key)
            if policy is not None:
                self._sandbox_policy = _compact_json(policy)
                break

    def _apply_token_count(self, payload: JsonObject) -> None:
        info = payload.get("info")
        if not isinstance(info, (dict, Mapping)):
            return
        total = info.get("total_token_usage")
        if isinstance(total, (dict, Mapping)):
            tokens = _int(total.get("total_tokens"))
            if tokens is not None:
                self._tokens_used = tokens


_MUTABLE_META_KEYS = (
    "session_id",
    "source",
    "thread_source",
    "parent_thread_id",
    "attached_thread",
    "model_provider",
    "cli_version",
    "originator",
    "cwd",
    "agent_nickname",
    "agent_role",
    "agent_path",
    "git",
    "memory_mode",
)


def parse_history_base(value: Any) -> HistoryBase | None:
    """`history_base` as a `HistoryBase`; `None` when absent.

    Raises `ValueError` when present but malformed: lineage must never be guessed.
    """
    if value is None:
        return None
    if not isinstance(value, (dict, Mapping)) or not isinstance(value.get("thread_id"), str):
        raise ValueError(f"malformed history_base: {value!r}")
    end_ordinal = value.get("end_ordinal_exclusive")
    end_offset = value.get("end_byte_offset")
    if end_ordinal is not None and _int(end_ordinal) is None:
        raise ValueError(f"malformed history_base.end_ordinal_exclusive: {end_ordinal!r}")
    if end_offset is not None and _int(end_offset) is None:
        raise ValueError(f"malformed history_base.end_byte_offset: {end_offset!r}")
    return HistoryBase(
        thread_id=value["thread_id"],
        end_ordinal_exclusive=_int(end_ordinal),
        end_byte_offset=_int(end_offset),
    )


def _thread_spawn(source: Any) -> JsonObject:
    """`source.subagent.thread_spawn` (disk) or `source.subAgent.thread_spawn` (wire), or `{}`."""
    if not isinstance(source, (dict, Mapping)):
        return {}
    sub_agent = source.get("subagent", source.get("subAgent"))
    if not isinstance(sub_agent, (dict, Mapping)):
        return {}
    spawn = sub_agent.get("thread_spawn")
    return spawn if isinstance(spawn, (dict, Mapping)) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _compact_json(value: Any) -> str:
    return orjson.dumps(value).decode()
