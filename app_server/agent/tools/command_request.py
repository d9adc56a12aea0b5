"""What a shell tool asks `command_flow` to run, and how the command ended.

`CommandRequest` is the one shape every shell tool (`command_tools`) reads its arguments into;
`Outcome` is what the run hands back to the tool's renderer and to the `commandExecution` item.
They live apart from the flow so the tools, the item and the runners share them without
importing one another.
"""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

from app_server.agent.tools.exec.terminal_results import ExecChunk


class CommandRequest(Struct, frozen=True):
    """A command as a shell tool asked for it."""

    call_id: str
    argv: list[str]
    """What runs (before sandboxing): `[bash, -lc, script]` or the model's own argv."""
    script: str | None
    """The shell script inside `argv`, when there is one (for `parsed_cmd` and prefix rules)."""
    workdir: str
    escalate: bool = False
    justification: str | None = None
    prefix_rule: list[str] | None = None
    mode: Literal["session", "oneshot"] = "session"
    """`session`: unified exec (yield, then poll); `oneshot`: run to completion or timeout."""
    yield_ms: int | None = None
    timeout_ms: int | None = None
    tty: bool = False
    max_output_tokens: int | None = None


class Outcome(Struct):
    """How the command ended (or that it keeps running as a session)."""

    exit_code: int | None
    output: str
    """All output so far (for the item)."""
    duration_s: float
    chunk: ExecChunk | None = None
    timed_out: bool = False
