"""The environment overrides codex 0.169 gives every unified-exec command.

Colour off, a dumb terminal, a UTF-8 locale and `cat` as every pager, so that the output the
model reads is plain text and no command waits on an interactive pager. The terminal table
(`background_terminals`) runs whatever environment it is given; the caller applies these
(`command_flow` does, for `exec_command`).
"""

from __future__ import annotations

from collections.abc import Mapping

UNIFIED_EXEC_ENV: dict[str, str] = {
    "NO_COLOR": "1",
    "TERM": "dumb",
    "LANG": "C.UTF-8",
    "LC_CTYPE": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "COLORTERM": "",
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "GH_PAGER": "cat",
    "CODEX_CI": "1",
}
"""Variables codex 0.169 sets for every unified-exec command (not applied here automatically:
see `unified_exec_env`)."""


def unified_exec_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with codex's unified-exec overrides (`UNIFIED_EXEC_ENV`) applied."""
    return {**env, **UNIFIED_EXEC_ENV}
