"""Build the model request of one sampling step (AGENT_LOOP.md §2).

The input is the thread's model-visible history exactly as persisted (minus our internal
bookkeeping fields), so a resumed thread sends byte-identical prefixes and prompt caching keeps
working; base instructions go in the standard `instructions` field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from msgspec import Struct

from app_server.agent.providers.base import SamplingRequest
from app_server.config import ConfigToml
from protocol.types import SandboxPolicy

INTERNAL_FIELDS = ("internal_chat_message_metadata_passthrough",)
"""Fields codex adds to persisted history items; never sent to the model."""

REASONING_MODEL_PREFIXES = ("o1", "o3", "o4", "gpt-5", "codex")
"""Models that accept the `reasoning` request field (others, e.g. gpt-4o or most local
models, reject it). `model_supports_reasoning_summaries = true|false` in config overrides."""

DEFAULT_CONTEXT_WINDOW = 272_000
EFFECTIVE_CONTEXT_PERCENT = 95
"""codex reports 95 % of the model's window as usable (272000 → 258400)."""


def strip_internal(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in INTERNAL_FIELDS}


def supports_reasoning(model: str, config: ConfigToml) -> bool:
    forced = config.model_supports_reasoning_summaries
    if forced is not None:
        return forced
    return model.lower().startswith(REASONING_MODEL_PREFIXES)


def effective_context_window(config: ConfigToml) -> int:
    base = config.model_context_window or DEFAULT_CONTEXT_WINDOW
    return base * EFFECTIVE_CONTEXT_PERCENT // 100


AUTO_COMPACT_PERCENT = 90
"""Without `model_auto_compact_token_limit`, a thread is compacted once a response used 90 % of
the effective window: late enough to keep most context, early enough that the next request
(the response's output plus new input) still fits."""


def auto_compact_limit(config: ConfigToml) -> int:
    """Tokens (of the latest response) at which a thread is compacted before sampling again."""
    if config.model_auto_compact_token_limit is not None:
        return config.model_auto_compact_token_limit
    return effective_context_window(config) * AUTO_COMPACT_PERCENT // 100


class RequestContext(Struct, frozen=True):
    """What a request needs to know about its thread and turn."""

    thread_id: str
    turn_id: str
    root_turn_id: str
    model: str
    instructions: str | None
    effort: str | None
    summary: str | None
    config: ConfigToml
    originator: str
    window_number: int = 0
    context_window_id: str | None = None
    """The UUID of the context window (turn metadata `context_window_id`)."""
    output_schema: Any = None
    request_kind: str = "turn"
    """`turn`, or `compaction` for a summarization request."""
    compaction: Mapping[str, str] | None = None
    """For a compaction request: its trigger, reason and phase (turn metadata)."""
    history_initialization: str = "new"
    """How the thread's history came to be in memory (turn metadata, as codex 0.169): `new`
    (started here), `cold_resume` (read back from disk), `warm_fork` / `cold_fork`."""
    sandbox_mode: str = "read-only"
    """The turn's sandbox as `sandbox_mode` names it (turn metadata `sandbox_mode`)."""
    turn_started_at_ms: int = 0
    """When the turn started, unix ms (turn metadata `turn_started_at_unix_ms`)."""
    subagent_kind: str | None = None
    """For a sub-agent's turn codex tags as one (`review`): its kind (turn metadata
    `subagent_kind`, the `x-openai-subagent` header)."""
    parent_turn_id: str | None = None
    """With `subagent_kind`: the parent's turn (turn metadata `parent_turn_id`)."""


SANDBOX_NONE = "none"
"""Turn metadata `sandbox` of a turn whose commands run unsandboxed (danger-full-access)."""
SANDBOX_LINUX = "seccomp"
"""Turn metadata `sandbox` of a sandboxed turn on Linux: the name codex 0.169 reports there
(whatever tool enforces it; here bubblewrap)."""
UNSANDBOXED_MODES = frozenset({"danger-full-access", "external-sandbox"})
"""`sandbox_mode`s under which commands are not sandboxed by this server."""


_SANDBOX_MODES = {
    "readOnly": "read-only",
    "workspaceWrite": "workspace-write",
    "dangerFullAccess": "danger-full-access",
    "externalSandbox": "external-sandbox",
}


def sandbox_mode_of(policy: SandboxPolicy) -> str:
    """A wire sandbox policy's mode name, as turn metadata `sandbox_mode` gives it."""
    return _SANDBOX_MODES[policy.type]


def turn_metadata(context: RequestContext, window_id: str) -> dict[str, Any]:
    """`x-codex-turn-metadata`, codex 0.169's keys in its order, without the installation,
    agent-name and analytics identifiers (README, compatibility)."""
    metadata: dict[str, Any] = {
        "session_id": context.thread_id,
        "thread_id": context.thread_id,
        "turn_id": context.turn_id,
        "window_id": window_id,
        "window_number": context.window_number,
    }
    if context.context_window_id is not None:
        metadata["context_window_id"] = context.context_window_id
    metadata["request_kind"] = context.request_kind
    metadata["history_initialization"] = context.history_initialization
    if context.subagent_kind is not None:
        metadata["parent_thread_id"] = context.thread_id
        metadata["parent_turn_id"] = context.parent_turn_id
    metadata["root_turn_id"] = context.root_turn_id
    if context.subagent_kind is not None:
        metadata["subagent_kind"] = context.subagent_kind
        metadata["thread_source"] = "subagent"
    if context.compaction is not None:
        metadata["compaction"] = dict(context.compaction)
    unsandboxed = context.sandbox_mode in UNSANDBOXED_MODES
    metadata["sandbox"] = SANDBOX_NONE if unsandboxed else SANDBOX_LINUX
    metadata["sandbox_mode"] = context.sandbox_mode
    metadata["turn_started_at_unix_ms"] = context.turn_started_at_ms
    if context.request_kind == "turn":  # codex's compaction requests name neither
        metadata["model"] = context.model
        if context.effort:
            metadata["reasoning_effort"] = context.effort
    return metadata


def build_request(
    context: RequestContext,
    history: Sequence[dict[str, Any]],
    tools: list[dict[str, Any]],
    *,
    parallel_tool_calls: bool = True,
) -> SamplingRequest:
    reasoning: dict[str, Any] | None = None
    include: list[str] = []
    if context.effort or context.summary or supports_reasoning(context.model, context.config):
        reasoning = {"summary": context.summary or "auto"}
        if context.effort:
            reasoning["effort"] = context.effort
        include = ["reasoning.encrypted_content"]
    text = None
    if context.output_schema is not None:
        text = {
            "format": {
                "type": "json_schema",
                "name": "codex_output_schema",
                "schema": context.output_schema,
                "strict": True,
            }
        }
    window_id = f"{context.thread_id}:{context.window_number}"
    metadata = turn_metadata(context, window_id)
    headers = {
        "originator": context.originator,
        "session-id": context.thread_id,
        "thread-id": context.thread_id,
        "x-client-request-id": context.thread_id,
        "x-codex-window-id": window_id,
        "x-codex-turn-metadata": orjson.dumps(metadata).decode(),
    }
    if context.subagent_kind is not None:
        headers["x-codex-parent-thread-id"] = context.thread_id
        headers["x-openai-subagent"] = context.subagent_kind
    return SamplingRequest(
        model=context.model,
        input=list(history),  # items are stored as the model sees them (`strip_internal`)
        instructions=context.instructions,
        tools=tools,
        parallel_tool_calls=parallel_tool_calls,
        reasoning=reasoning,
        text=text,
        prompt_cache_key=context.thread_id,
        include=include,
        client_metadata={
            "thread_id": context.thread_id,
            "turn_id": context.turn_id,
            "x-codex-window-id": window_id,
        },
        headers=headers,
    )
