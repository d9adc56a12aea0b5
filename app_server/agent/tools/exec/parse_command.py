"""Codex's best-effort `parsed_cmd` for a shell script (what a command reads, lists or searches).

`parse_command_actions` gives `read`, `list_files`, `search` or `unknown` per simple command (a
port of codex's `shell-command/src/parse_command.rs`; scripts using anything beyond plain words
joined by `&&`, `||`, `;`, `|` — redirections, substitutions, variables, subshells — are one
`unknown`). `to_command_actions` turns them into the app-server v2 `commandActions`.

This module is the public entry and owns the script-level pass: splitting (`shell_words`),
dropping formatting helpers, following `cd`, classifying each command (`command_summary`, which
also owns the entry constructors re-exported here), then simplifying and choosing each entry's
`cmd` spelling.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from typing import Any

from app_server.agent.tools.exec.command_summary import (
    is_small_formatting_command,
    list_files_action,
    read_action,
    search_action,
    summarize,
    unknown_action,
)
from app_server.agent.tools.exec.process import shlex_join
from app_server.agent.tools.exec.shell_words import (
    CONNECTORS,
    first_word,
    split_words,
    word_only_commands,
)

__all__ = [
    "list_files_action",
    "parse_command_actions",
    "read_action",
    "search_action",
    "to_command_actions",
    "unknown_action",
]


def parse_command_actions(
    cmd: str, cwd: str | os.PathLike[str] | None = None
) -> list[dict[str, Any]]:
    """Codex's `parsed_cmd` for the script `cmd` (run as `<shell> -lc cmd`), in the core /
    rollout spelling: `{"type": "read", "cmd", "name", "path"}`, `{"type": "list_files",
    "cmd", "path"}`, `{"type": "search", "cmd", "query", "path"}`, `{"type": "unknown", "cmd"}`.

    One entry per recognised simple command of a `&&` / `||` / `;` / `|` chain (formatting
    helpers such as `| head -n 5` or `| wc -l`, and `cd`, `echo`, `true` steps, are dropped);
    if any step is not recognised, a single `unknown` for the whole script. `read` paths are
    as written (joined to a preceding `cd`), like codex's rollout (`"path": "notes.txt"`); `cwd`
    is not needed for that spelling — `to_command_actions(actions, cwd)` makes them absolute.
    """
    del cwd  # the core spelling keeps paths relative; see `to_command_actions`
    parsed = _parse_shell_script(cmd)
    deduped: list[dict[str, Any]] = []
    for action in parsed:
        if deduped and deduped[-1] == action:
            continue
        deduped.append(action)
    if any(action["type"] == "unknown" for action in deduped):
        return [unknown_action(cmd)]
    return deduped


def to_command_actions(
    actions: Sequence[dict[str, Any]], cwd: str | os.PathLike[str]
) -> list[dict[str, Any]]:
    """Core `parsed_cmd` entries as app-server v2 `commandActions` (`command` key, `listFiles`,
    `read` paths joined to `cwd` — codex's `CommandAction::from_core_with_cwd`)."""
    converted: list[dict[str, Any]] = []
    for action in actions:
        kind = action["type"]
        if kind == "read":
            path = os.path.normpath(os.path.join(os.fspath(cwd), action["path"]))
            converted.append(
                {"type": "read", "command": action["cmd"], "name": action["name"], "path": path}
            )
        elif kind == "list_files":
            converted.append(
                {"type": "listFiles", "command": action["cmd"], "path": action["path"]}
            )
        elif kind == "search":
            converted.append(
                {
                    "type": "search",
                    "command": action["cmd"],
                    "query": action["query"],
                    "path": action["path"],
                }
            )
        else:
            converted.append({"type": "unknown", "command": action["cmd"]})
    return converted


def _parse_shell_script(script: str) -> list[dict[str, Any]]:
    split = word_only_commands(script)
    if split is None or not split[0]:
        return [unknown_action(script)]
    all_commands, script_tokens = split
    had_multiple_commands = len(all_commands) > 1
    filtered = [c for c in all_commands if not is_small_formatting_command(c)]
    if not filtered:
        return [unknown_action(script)]
    commands: list[dict[str, Any]] = []
    cwd: str | None = None
    for words in filtered:
        if words[0] == "cd":
            target = _cd_target(words[1:])
            if target is not None:
                cwd = _join_paths(cwd, target) if cwd is not None else target
            continue
        action = summarize(words)
        if action["type"] == "read" and cwd is not None:
            action["path"] = _join_paths(cwd, action["path"])
        commands.append(action)
    if len(commands) > 1:
        commands = [a for a in commands if not (a["type"] == "unknown" and a["cmd"] == "true")]
        while (simpler := _simplify_once(commands)) is not None:
            commands = simpler
    if len(commands) == 1:
        had_connectors = had_multiple_commands or any(t in CONNECTORS for t in script_tokens)
        action = commands[0]
        if action["type"] == "read":
            if had_connectors:
                has_pipe = "|" in script_tokens
                has_sed_n = any(
                    a == "sed" and b == "-n" for a, b in itertools.pairwise(script_tokens)
                )
                if has_pipe and has_sed_n:
                    action["cmd"] = script
            else:
                action["cmd"] = shlex_join(script_tokens)
        elif action["type"] in ("list_files", "search") and not had_connectors:
            action["cmd"] = shlex_join(script_tokens)
    return commands


def _simplify_once(commands: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    if len(commands) <= 1:
        return None
    first = commands[0]
    if first["type"] == "unknown" and first_word(first["cmd"]) == "echo":
        return commands[1:]
    for index, action in enumerate(commands):
        if (
            action["type"] == "unknown"
            and first_word(action["cmd"]) == "cd"
            and len(commands) > index + 1
        ):
            return commands[:index] + commands[index + 1 :]
    for index, action in enumerate(commands):
        if action["type"] == "unknown" and action["cmd"] == "true":
            return commands[:index] + commands[index + 1 :]
    for index, action in enumerate(commands):
        if action["type"] == "unknown":
            words = split_words(action["cmd"])
            if words and words[0] == "nl" and all(w.startswith("-") for w in words[1:]):
                return commands[:index] + commands[index + 1 :]
    return None


def _cd_target(args: list[str]) -> str | None:
    target: str | None = None
    for i, arg in enumerate(args):
        if arg == "--":
            return args[i + 1] if i + 1 < len(args) else None
        if arg.startswith("-"):
            continue
        target = arg
    return target


def _join_paths(base: str | None, rel: str) -> str:
    if base is None or not base or os.path.isabs(rel):
        return rel
    return os.path.join(base, rel)
