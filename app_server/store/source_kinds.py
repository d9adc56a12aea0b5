"""The source-kind classes of a thread's `SessionSource`, which `thread/list.sourceKinds` filters.

A thread's wire `source` (`"vscode"`, `{"subAgent": "review"}`, `{"subAgent": {"thread_spawn":
…}}`, `{"custom": "…"}`) is reduced to one stored class: the `ThreadSourceKind` values that name
exactly one source, plus `custom`. The wire filter `subAgent` stands for all four sub-agent
classes (codex: `SubAgent => matches!(source, SessionSource::SubAgent(_))`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

SUB_AGENT_KINDS: Final = (
    "subAgentReview",
    "subAgentCompact",
    "subAgentThreadSpawn",
    "subAgentOther",
)
"""Stored `source_kind`s of sub-agent sources (the wire filter `subAgent` matches them all)."""
_SIMPLE_KINDS: Final = frozenset({"cli", "vscode", "exec", "appServer", "unknown"})
_SUB_AGENT_NAMED: Final = {"review": "subAgentReview", "compact": "subAgentCompact"}


def source_kind_of(source: Any) -> str:
    """The stored `source_kind` of a wire `SessionSource` JSON value.

    `cli|vscode|exec|appServer|unknown` for the plain sources; `subAgentReview`,
    `subAgentCompact`, `subAgentThreadSpawn` or `subAgentOther` (`{"other": …}`,
    `"memory_consolidation"`, anything newer) for `{"subAgent": …}`; `custom` for
    `{"custom": …}`, which no wire `ThreadSourceKind` selects (as in codex).
    """
    if isinstance(source, str):
        return source if source in _SIMPLE_KINDS else "unknown"
    if isinstance(source, Mapping):
        if "subAgent" in source:
            sub_agent = source["subAgent"]
            if isinstance(sub_agent, str):
                return _SUB_AGENT_NAMED.get(sub_agent, "subAgentOther")
            if isinstance(sub_agent, Mapping) and "thread_spawn" in sub_agent:
                return "subAgentThreadSpawn"
            return "subAgentOther"
        if "custom" in source:
            return "custom"
    return "unknown"
