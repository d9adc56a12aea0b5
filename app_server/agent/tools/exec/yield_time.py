"""How long `exec_command` and `write_stdin` wait for output before answering the model.

A call collects its command's output until the command exits or its yield passes; a command
still running then stays a background terminal (`background_terminals`). The model may ask for
any `yield_time_ms`; these are codex 0.169's defaults and clamps for it, kept apart from the
terminal table because they are rules about the request, not about the terminals.
"""

from __future__ import annotations

DEFAULT_EXEC_YIELD_TIME_MS = 10_000
"""`exec_command`'s default `yield_time_ms`."""
DEFAULT_WRITE_STDIN_YIELD_TIME_MS = 250
"""`write_stdin`'s default `yield_time_ms`."""
MIN_YIELD_TIME_MS = 250
"""The shortest yield of any call: a smaller `yield_time_ms` is raised to it."""
MAX_YIELD_TIME_MS = 30_000
"""The longest yield of `exec_command` and of a `write_stdin` that writes: the turn waits on it."""
MIN_EMPTY_YIELD_TIME_MS = 5_000
"""A `write_stdin` that writes nothing (a poll) waits at least this long..."""
MAX_EMPTY_YIELD_TIME_MS = 300_000
"""...and at most this long (codex's `background_terminal_max_timeout` default)."""


def clamp_yield_time(yield_time_ms: int | None, default: int = DEFAULT_EXEC_YIELD_TIME_MS) -> int:
    """`exec_command`'s yield: `default` if unset, clamped to [250, 30000] ms."""
    value = default if yield_time_ms is None else yield_time_ms
    return min(max(value, MIN_YIELD_TIME_MS), MAX_YIELD_TIME_MS)


def clamp_write_stdin_yield_time(yield_time_ms: int | None, chars: str) -> int:
    """`write_stdin`'s yield: at least 250 ms; a pure poll (no chars) in [5000, 300000] ms,
    a write at most 30000 ms."""
    value = DEFAULT_WRITE_STDIN_YIELD_TIME_MS if yield_time_ms is None else yield_time_ms
    value = max(value, MIN_YIELD_TIME_MS)
    if not chars:
        return min(max(value, MIN_EMPTY_YIELD_TIME_MS), MAX_EMPTY_YIELD_TIME_MS)
    return min(value, MAX_YIELD_TIME_MS)
