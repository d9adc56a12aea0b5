"""Scenario steps as data: what to send, which scripted model replies to queue, how to answer the
server's approval requests. `$name.path` strings in params refer to a result saved earlier
(`save=`), `$@method.path` to the params of the latest notification of that method; `$cwd` is
the peer's workspace directory (`$cwd/x` a path in it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.model_replies import Reply


@dataclass(frozen=True)
class Call:
    """One request; its result is saved under `save` for later `$save.path` references."""

    method: str
    params: Any = field(default_factory=dict)
    save: str | None = None
    wait: bool = True
    """False: send it and go on without its answer (a command still running); a later
    `Await(save)` records the answer."""


@dataclass(frozen=True)
class Turn:
    """`turn/start` with `text`, the model answering `replies`; waits for `turn/completed`.
    `decision` answers every approval request of the turn."""

    thread: str
    text: str
    replies: tuple[Reply, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    decision: str = "accept"
    save: str | None = None
    wait: bool = True


@dataclass(frozen=True)
class WaitFor:
    """Wait until a notification with this method arrives (a first delta, `turn/completed`)."""

    method: str


@dataclass(frozen=True)
class Queue:
    """Queue model replies without sending anything (for compaction and steering)."""

    replies: tuple[Reply, ...]


@dataclass(frozen=True)
class WriteFile:
    """Write a file under the peer's CODEX_HOME (a skill, say) before the next step."""

    path: str
    text: str


@dataclass(frozen=True)
class Await:
    """Wait for the answer of an earlier `Call(..., wait=False, save=name)`: the observation holds
    that answer (and what arrived meanwhile)."""

    name: str


Step = Call | Turn | WaitFor | Queue | WriteFile | Await


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    codex_version: str = "0.169.0"
    """The codex to compare with: 0.169.0, or a later one for the methods it added (0.171.0)."""


def resolve(value: Any, saved: Mapping[str, Any], cwd: str) -> Any:
    """`value` with every `$cwd` (also as the start of a path, `$cwd/a/b`) and
    `$name.path.to.field` string replaced."""
    if isinstance(value, str) and value.startswith("$"):
        if value == "$cwd":
            return cwd
        if value.startswith("$cwd/"):
            return cwd + value[len("$cwd") :]
        name, *path = value[1:].split(".")
        current = saved[name]
        for part in path:
            current = current[int(part)] if isinstance(current, list) else current[part]
        return current
    if isinstance(value, list):
        return [resolve(item, saved, cwd) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, saved, cwd) for key, item in value.items()}
    return value
