"""What the model and the UI get from a shell command, in codex 0.169's exact shapes.

- `format_exec_output`: the `exec_command` / `write_stdin` tool output (AGENT_LOOP.md §5):

      Chunk ID: 706221
      Wall time: 0.0000 seconds
      Process exited with code 0            (or: Process running with session ID 1000)
      Original token count: 2
      Output:
      touched

  Tokens are estimated as ceil(UTF-8 bytes / 4). Output over `max_output_tokens` (default
  10000, i.e. 40000 bytes) keeps its first and last halves around an inline
  `…N tokens truncated…` marker and is prefixed with
  `Warning: truncated output (original token count: T)\\nTotal output lines: L\\n\\n`
  (codex's `formatted_truncate_text`). Bytes are decoded as UTF-8 with replacement.
- `parse_command_actions`: codex's best-effort `parsed_cmd` for a shell script — `read`,
  `list_files`, `search` or `unknown` per simple command (a port of codex's
  `shell-command/src/parse_command.rs`; scripts using anything beyond plain words joined by
  `&&`, `||`, `;`, `|` — redirections, substitutions, variables, subshells — are one
  `unknown`). `to_command_actions` turns them into the app-server v2 `commandActions`.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
from collections.abc import Sequence
from typing import Any

from app_server.agent.tools.exec.process import shlex_join
from app_server.agent.tools.exec.sessions import ExecChunk, approx_token_count

DEFAULT_MAX_OUTPUT_TOKENS = 10_000
APPROX_BYTES_PER_TOKEN = 4


def generate_chunk_id() -> str:
    """Six random hex digits, like codex's chunk ids."""
    return secrets.token_hex(3)


def decode_output(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def format_exec_output(
    chunk: ExecChunk,
    *,
    max_output_tokens: int | None = None,
    chunk_id: str | None = None,
) -> str:
    """The tool output text for one `start` / `write_stdin` result."""
    text = decode_output(chunk.output)
    return format_exec_response(
        text,
        wall_time_s=chunk.wall_time_s,
        exit_code=chunk.exit_code,
        session_id=chunk.session_id,
        original_token_count=approx_token_count(text),
        max_output_tokens=max_output_tokens,
        chunk_id=chunk_id,
    )


def format_exec_response(
    text: str,
    *,
    wall_time_s: float,
    exit_code: int | None,
    session_id: int | None,
    original_token_count: int | None = None,
    max_output_tokens: int | None = None,
    chunk_id: str | None = None,
) -> str:
    """Codex's unified-exec response text for already-decoded output."""
    max_tokens = DEFAULT_MAX_OUTPUT_TOKENS if max_output_tokens is None else max_output_tokens
    if original_token_count is None:
        original_token_count = approx_token_count(text)
    sections = [
        f"Chunk ID: {chunk_id if chunk_id is not None else generate_chunk_id()}",
        f"Wall time: {wall_time_s:.4f} seconds",
    ]
    if exit_code is not None:
        sections.append(f"Process exited with code {exit_code}")
    if session_id is not None:
        sections.append(f"Process running with session ID {session_id}")
    sections.append(f"Original token count: {original_token_count}")
    sections.append("Output:")
    sections.append(formatted_truncate_text(text, max_tokens))
    return "\n".join(sections)


def formatted_truncate_text(text: str, max_tokens: int) -> str:
    """`text` if it fits `max_tokens`; else the head+tail truncation with codex's header."""
    if _utf8_len(text) <= max_tokens * APPROX_BYTES_PER_TOKEN:
        return text
    total_lines = len(text.splitlines())
    return (
        f"Warning: truncated output (original token count: {approx_token_count(text)})\n"
        f"Total output lines: {total_lines}\n\n{truncate_middle(text, max_tokens)}"
    )


def truncate_middle(text: str, max_tokens: int) -> str:
    """Keep the first and last `max_tokens * 2` bytes (on character boundaries) around
    `…N tokens truncated…`, N = ceil(removed bytes / 4) (codex's
    `truncate_middle_with_token_budget`)."""
    max_bytes = max_tokens * APPROX_BYTES_PER_TOKEN
    total_bytes = _utf8_len(text)
    if not text:
        return ""
    if max_bytes == 0:
        return _marker(_tokens_for(total_bytes))
    if total_bytes <= max_bytes:
        return text
    left_budget = max_bytes // 2
    right_budget = max_bytes - left_budget
    tail_start_target = total_bytes - right_budget
    prefix_end = 0  # in characters
    suffix_start = len(text)
    suffix_started = False
    offset = 0
    for index, char in enumerate(text):
        size = _utf8_len(char)
        if offset + size <= left_budget:
            prefix_end = index + 1
        elif offset >= tail_start_target and not suffix_started:
            suffix_start = index
            suffix_started = True
        offset += size
    suffix_start = max(suffix_start, prefix_end)
    removed_tokens = _tokens_for(total_bytes - max_bytes)
    return text[:prefix_end] + _marker(removed_tokens) + text[suffix_start:]


def _marker(tokens: int) -> str:
    return f"…{tokens} tokens truncated…"


def _tokens_for(byte_count: int) -> int:
    return (byte_count + APPROX_BYTES_PER_TOKEN - 1) // APPROX_BYTES_PER_TOKEN


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


# ---------------------------------------------------------------------------------------------
# parsed_cmd


def read_action(cmd: str, name: str, path: str) -> dict[str, Any]:
    return {"type": "read", "cmd": cmd, "name": name, "path": path}


def list_files_action(cmd: str, path: str | None) -> dict[str, Any]:
    return {"type": "list_files", "cmd": cmd, "path": path}


def search_action(cmd: str, query: str | None, path: str | None) -> dict[str, Any]:
    return {"type": "search", "cmd": cmd, "query": query, "path": path}


def unknown_action(cmd: str) -> dict[str, Any]:
    return {"type": "unknown", "cmd": cmd}


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


_CONNECTORS = frozenset({"&&", "||", "|", ";"})
_RESERVED_FIRST_WORDS = frozenset(
    {
        "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case",
        "esac", "function", "select", "time", "coproc", "!", "{", "}", "[[", "]]", "[",
    }
)  # fmt: skip
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")


def _word_only_commands(script: str) -> tuple[list[list[str]], list[str]] | None:
    """Split a script made only of plain words joined by `&&`, `||`, `;`, `|` (and newlines)
    into its commands' words, plus the flat token list (words and connectors).

    None when it uses anything else — redirections, `$`/backtick expansions, subshells, `&`,
    comments, assignments, compound commands — like codex's tree-sitter
    `try_parse_word_only_commands_sequence`.
    """
    commands: list[list[str]] = []
    tokens: list[str] = []
    current: list[str] = []
    word: list[str] = []
    in_word = False
    word_quoted = False  # the word has a quoted part (then `A=b` is not an assignment)
    expect_command = False  # a connector was seen and needs a command after it

    def end_word() -> bool:
        nonlocal in_word, word_quoted
        if in_word:
            text = "".join(word)
            if not current and not word_quoted and _ASSIGNMENT.match(text):
                return False
            current.append(text)
            tokens.append(text)
            word.clear()
            in_word = False
            word_quoted = False
        return True

    def end_command(connector: str | None) -> bool:
        nonlocal expect_command
        if not end_word():
            return False
        if current:
            if current[0] in _RESERVED_FIRST_WORDS:
                return False
            commands.append(list(current))
            current.clear()
            expect_command = False
        elif connector is not None and connector != ";" and not commands:
            return False  # leading `&&` / `|`
        elif connector is not None and expect_command:
            return False  # `a && && b`
        if connector is not None:
            tokens.append(connector)
            expect_command = connector != ";"
        return True

    i = 0
    n = len(script)
    while i < n:
        c = script[i]
        if c in " \t":
            if not end_word():
                return None
            i += 1
        elif c == "\n":
            if not end_command(None):
                return None
            i += 1
        elif c == "'":
            end = script.find("'", i + 1)
            if end < 0:
                return None
            word.append(script[i + 1 : end])
            in_word = True
            word_quoted = True
            i = end + 1
        elif c == '"':
            i += 1
            word_quoted = True
            while True:
                if i >= n:
                    return None
                ch = script[i]
                if ch == '"':
                    i += 1
                    break
                if ch in "$`":
                    return None
                if ch == "\\" and i + 1 < n and script[i + 1] in '"\\$`\n':
                    if script[i + 1] != "\n":
                        word.append(script[i + 1])
                    i += 2
                    continue
                word.append(ch)
                i += 1
            in_word = True
        elif c == "\\":
            if i + 1 >= n:
                return None
            if script[i + 1] != "\n":
                word.append(script[i + 1])
                in_word = True
            i += 2
        elif c == "&":
            if script.startswith("&&", i):
                if not end_command("&&"):
                    return None
                i += 2
            else:
                return None
        elif c == "|":
            if script.startswith("||", i):
                if not end_command("||"):
                    return None
                i += 2
            elif script.startswith("|&", i):
                return None
            else:
                if not end_command("|"):
                    return None
                i += 1
        elif c == ";":
            if script.startswith(";;", i) or not end_word() or (not current and not commands):
                return None
            if not end_command(";"):
                return None
            i += 1
        elif c in "<>()`$" or (c == "#" and not in_word):
            return None
        else:
            word.append(c)
            in_word = True
            i += 1
    if not end_command(None) or expect_command:
        return None
    return commands, tokens


def _parse_shell_script(script: str) -> list[dict[str, Any]]:
    split = _word_only_commands(script)
    if split is None or not split[0]:
        return [unknown_action(script)]
    all_commands, script_tokens = split
    had_multiple_commands = len(all_commands) > 1
    filtered = [c for c in all_commands if not _is_small_formatting_command(c)]
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
        action = _summarize(words)
        if action["type"] == "read" and cwd is not None:
            action["path"] = _join_paths(cwd, action["path"])
        commands.append(action)
    if len(commands) > 1:
        commands = [a for a in commands if not (a["type"] == "unknown" and a["cmd"] == "true")]
        while (simpler := _simplify_once(commands)) is not None:
            commands = simpler
    if len(commands) == 1:
        had_connectors = had_multiple_commands or any(t in _CONNECTORS for t in script_tokens)
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
    if first["type"] == "unknown" and _first_word(first["cmd"]) == "echo":
        return commands[1:]
    for index, action in enumerate(commands):
        if (
            action["type"] == "unknown"
            and _first_word(action["cmd"]) == "cd"
            and len(commands) > index + 1
        ):
            return commands[:index] + commands[index + 1 :]
    for index, action in enumerate(commands):
        if action["type"] == "unknown" and action["cmd"] == "true":
            return commands[:index] + commands[index + 1 :]
    for index, action in enumerate(commands):
        if action["type"] == "unknown":
            words = _split_words(action["cmd"])
            if words and words[0] == "nl" and all(w.startswith("-") for w in words[1:]):
                return commands[:index] + commands[index + 1 :]
    return None


def _first_word(cmd: str) -> str | None:
    words = _split_words(cmd)
    return words[0] if words else None


def _split_words(cmd: str) -> list[str] | None:
    split = _word_only_commands(cmd)
    if split is None or len(split[0]) != 1:
        return None
    return split[0][0]


def _is_small_formatting_command(words: list[str]) -> bool:
    if not words:
        return False
    cmd, args = words[0], words[1:]
    if cmd in ("wc", "tr", "cut", "sort", "uniq", "tee", "column", "yes", "printf"):
        return True
    if cmd == "xargs":
        return not _is_mutating_xargs(words)
    if cmd == "awk":
        return _awk_data_file_operand(args) is None
    if cmd in ("head", "tail"):
        if not args:
            return True
        if len(args) == 1:
            return args[0].startswith("-")
        if len(args) == 2:
            flag, count = args
            if flag in ("-n", "-c"):
                digits = count[1:] if cmd == "tail" and count.startswith("+") else count
                return digits.isdigit() and digits.isascii()
        return False
    if cmd == "sed":
        return _sed_read_path(args) is None
    return False


def _is_mutating_xargs(words: list[str]) -> bool:
    sub = _xargs_subcommand(words)
    if not sub:
        return False
    head, tail = sub[0], sub[1:]
    if head in ("perl", "ruby"):
        return _has_in_place_flag(tail)
    if head == "sed":
        return _has_in_place_flag(tail) or "--in-place" in tail
    if head == "rg":
        return "--replace" in tail
    return False


def _xargs_subcommand(words: list[str]) -> list[str] | None:
    i = 1
    while i < len(words):
        token = words[i]
        if token == "--":
            return words[i + 1 :] or None
        if not token.startswith("-"):
            return words[i:] or None
        takes_value = token in ("-E", "-e", "-I", "-L", "-n", "-P", "-s")
        i += 2 if takes_value else 1
    return None


def _has_in_place_flag(words: list[str]) -> bool:
    return any(w.startswith("-i") or w.startswith("-pi") for w in words)


def _is_sed_range(arg: str | None) -> bool:
    if arg is None or not arg.endswith("p"):
        return False
    parts = arg[:-1].split(",")
    return len(parts) in (1, 2) and all(p.isdigit() and p.isascii() for p in parts)


def _sed_read_path(args: list[str]) -> str | None:
    if "-n" not in args:
        return None
    has_range = False
    i = 0
    while i < len(args):
        if args[i] in ("-e", "--expression"):
            if _is_sed_range(args[i + 1] if i + 1 < len(args) else None):
                has_range = True
            i += 2
            continue
        if args[i] in ("-f", "--file"):
            i += 2
            continue
        i += 1
    if not has_range:
        has_range = any(not a.startswith("-") and _is_sed_range(a) for a in args)
    if not has_range:
        return None
    candidates = _skip_flag_values(args, ("-e", "-f", "--expression", "--file"))
    non_flags = [a for a in candidates if not a.startswith("-")]
    if not non_flags:
        return None
    if _is_sed_range(non_flags[0]):
        return non_flags[1] if len(non_flags) > 1 else None
    return non_flags[0]


def _skip_flag_values(args: list[str], flags_with_values: Sequence[str]) -> list[str]:
    out: list[str] = []
    skip_next = False
    for i, arg in enumerate(args):
        if skip_next:
            skip_next = False
            continue
        if arg == "--":
            out.extend(args[i + 1 :])
            break
        if arg.startswith("--") and "=" in arg:
            continue
        if arg in flags_with_values:
            if i + 1 < len(args):
                skip_next = True
            continue
        out.append(arg)
    return out


def _positional_operands(args: list[str], flags_with_values: Sequence[str]) -> list[str]:
    out: list[str] = []
    after_double_dash = False
    skip_next = False
    for i, arg in enumerate(args):
        if skip_next:
            skip_next = False
            continue
        if after_double_dash:
            out.append(arg)
            continue
        if arg == "--":
            after_double_dash = True
            continue
        if arg.startswith("--") and "=" in arg:
            continue
        if arg in flags_with_values:
            if i + 1 < len(args):
                skip_next = True
            continue
        if arg.startswith("-"):
            continue
        out.append(arg)
    return out


def _first_operand(args: list[str], flags_with_values: Sequence[str]) -> str | None:
    operands = _positional_operands(args, flags_with_values)
    return operands[0] if operands else None


def _single_operand(args: list[str], flags_with_values: Sequence[str]) -> str | None:
    operands = _positional_operands(args, flags_with_values)
    return operands[0] if len(operands) == 1 else None


def _short_display_path(path: str) -> str:
    """The last useful path component (skipping `build`, `dist`, `node_modules`, `src`)."""
    trimmed = path.replace("\\", "/").rstrip("/")
    for part in reversed(trimmed.split("/")):
        if part and part not in ("build", "dist", "node_modules", "src"):
            return part
    return trimmed


def _awk_data_file_operand(args: list[str]) -> str | None:
    if not args:
        return None
    has_script_file = any(a in ("-f", "--file") for a in args)
    candidates = _skip_flag_values(
        args, ("-F", "-v", "-f", "--field-separator", "--assign", "--file")
    )
    non_flags = [a for a in candidates if not a.startswith("-")]
    if has_script_file:
        return non_flags[0] if non_flags else None
    return non_flags[1] if len(non_flags) >= 2 else None


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


def _is_pathish(text: str) -> bool:
    return text in (".", "..") or text.startswith(("./", "../")) or "/" in text or "\\" in text


def _read(words: list[str], path: str) -> dict[str, Any]:
    return read_action(shlex_join(words), _short_display_path(path), path)


def _read_or_unknown(words: list[str], path: str | None) -> dict[str, Any]:
    return _read(words, path) if path is not None else unknown_action(shlex_join(words))


def _grep_like(words: list[str], args: list[str]) -> dict[str, Any]:
    operands: list[str] = []
    pattern: str | None = None
    after_double_dash = False
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if after_double_dash:
            operands.append(arg)
            continue
        if arg == "--":
            after_double_dash = True
            continue
        if arg in ("-e", "--regexp", "-f", "--file"):
            if i < len(args):
                if pattern is None:
                    pattern = args[i]
                i += 1
            continue
        if arg in ("-m", "--max-count", "-C", "--context", "-A", "--after-context", "-B"):
            i += 1
            continue
        if arg == "--before-context":
            i += 1
            continue
        if arg.startswith("-"):
            continue
        operands.append(arg)
    has_pattern = pattern is not None
    query = pattern if has_pattern else (operands[0] if operands else None)
    path_index = 0 if has_pattern else 1
    path = _short_display_path(operands[path_index]) if len(operands) > path_index else None
    return search_action(shlex_join(words), query, path)


def _head_tail_read(words: list[str], args: list[str], allow_plus: bool) -> dict[str, Any]:
    def valid_count(text: str) -> bool:
        digits = text[1:] if allow_plus and text.startswith("+") else text
        return bool(digits) and digits.isdigit() and digits.isascii()

    has_valid_n = False
    if args:
        if args[0] == "-n":
            has_valid_n = len(args) > 1 and valid_count(args[1])
        elif args[0].startswith("-n"):
            has_valid_n = valid_count(args[0][2:])
    if has_valid_n:
        candidates: list[str] = []
        i = 0
        while i < len(args):
            if i == 0 and args[i] == "-n" and i + 1 < len(args) and valid_count(args[i + 1]):
                i += 2
                continue
            candidates.append(args[i])
            i += 1
        for candidate in candidates:
            if not candidate.startswith("-"):
                return _read(words, candidate)
    if len(args) == 1 and not args[0].startswith("-"):
        return _read(words, args[0])
    return unknown_action(shlex_join(words))


_LS_FLAGS = ("-I", "-w", "--block-size", "--format", "--time-style", "--color", "--quoting-style")
_EZA_FLAGS = ("-I", "--ignore-glob", "--color", "--sort", "--time-style", "--time")
_TREE_FLAGS = ("-L", "-P", "-I", "--charset", "--filelimit", "--sort")
_DU_FLAGS = ("-d", "--max-depth", "-B", "--block-size", "--exclude", "--time-style")
_RG_FLAGS = (
    "-g", "--glob", "--iglob", "-t", "--type", "--type-add", "--type-not", "-m",
    "--max-count", "-A", "-B", "-C", "--context", "--max-depth",
)  # fmt: skip
_AG_FLAGS = (
    "-G", "-g", "--file-search-regex", "--ignore-dir", "--ignore-file", "--path-to-ignore",
)  # fmt: skip
_FD_FLAGS = ("-t", "--type", "-e", "--extension", "-E", "--exclude", "--search-path")
_BAT_FLAGS = (
    "--theme", "--language", "--style", "--terminal-width", "--tabs", "--line-range",
    "--map-syntax",
)  # fmt: skip
_LESS_FLAGS = (
    "-p", "-P", "-x", "-y", "-z", "-j", "--pattern", "--prompt", "--tabs", "--shift",
    "--jump-target",
)  # fmt: skip
_PYTHON_WALKS = (
    "os.walk", "os.listdir", "os.scandir", "glob.glob", "glob.iglob", "pathlib.Path", ".rglob(",
)  # fmt: skip


def _summarize(words: list[str]) -> dict[str, Any]:
    """One simple command as a `parsed_cmd` entry (codex's `summarize_main_tokens`)."""
    head, args = words[0], words[1:]
    joined = shlex_join(words)
    path: str | None
    if head in ("ls", "eza", "exa"):
        path = _first_operand(args, _LS_FLAGS if head == "ls" else _EZA_FLAGS)
        return list_files_action(joined, _short_display_path(path) if path else None)
    if head in ("tree", "du"):
        path = _first_operand(args, _TREE_FLAGS if head == "tree" else _DU_FLAGS)
        return list_files_action(joined, _short_display_path(path) if path else None)
    if head in ("rg", "rga", "ripgrep-all"):
        non_flags = [a for a in _skip_flag_values(args, _RG_FLAGS) if not a.startswith("-")]
        if "--files" in args:
            return list_files_action(
                joined, _short_display_path(non_flags[0]) if non_flags else None
            )
        return search_action(
            joined,
            non_flags[0] if non_flags else None,
            _short_display_path(non_flags[1]) if len(non_flags) > 1 else None,
        )
    if head == "git" and args:
        if args[0] == "grep":
            return _grep_like(words, args[1:])
        if args[0] == "ls-files":
            path = _first_operand(args[1:], ("--exclude", "--exclude-from", "--pathspec-from-file"))
            return list_files_action(joined, _short_display_path(path) if path else None)
        return unknown_action(joined)
    if head == "fd":
        non_flags = [a for a in _skip_flag_values(args, _FD_FLAGS) if not a.startswith("-")]
        query: str | None = None
        path = None
        if len(non_flags) == 1:
            if _is_pathish(non_flags[0]):
                path = _short_display_path(non_flags[0])
            else:
                query = non_flags[0]
        elif len(non_flags) >= 2:
            query, path = non_flags[0], _short_display_path(non_flags[1])
        if query is not None:
            return search_action(joined, query, path)
        return list_files_action(joined, path)
    if head == "find":
        path = next(
            (
                _short_display_path(a)
                for a in args
                if not a.startswith("-") and a not in ("!", "(", ")")
            ),
            None,
        )
        query = None
        for i, arg in enumerate(args):
            if arg in ("-name", "-iname", "-path", "-regex"):
                query = args[i + 1] if i + 1 < len(args) else None
                break
        if query is not None:
            return search_action(joined, query, path)
        return list_files_action(joined, path)
    if head in ("grep", "egrep", "fgrep"):
        return _grep_like(words, args)
    if head in ("ag", "ack", "pt"):
        non_flags = [a for a in _skip_flag_values(args, _AG_FLAGS) if not a.startswith("-")]
        return search_action(
            joined,
            non_flags[0] if non_flags else None,
            _short_display_path(non_flags[1]) if len(non_flags) > 1 else None,
        )
    if head in ("cat", "more"):
        return _read_or_unknown(words, _single_operand(args, ()))
    if head in ("bat", "batcat"):
        return _read_or_unknown(words, _single_operand(args, _BAT_FLAGS))
    if head == "less":
        return _read_or_unknown(words, _single_operand(args, _LESS_FLAGS))
    if head == "head":
        return _head_tail_read(words, args, allow_plus=False)
    if head == "tail":
        return _head_tail_read(words, args, allow_plus=True)
    if head == "awk":
        return _read_or_unknown(words, _awk_data_file_operand(args))
    if head == "nl":
        candidates = _skip_flag_values(args, ("-s", "-w", "-v", "-i", "-b"))
        return _read_or_unknown(words, next((c for c in candidates if not c.startswith("-")), None))
    if head == "sed":
        return _read_or_unknown(words, _sed_read_path(args))
    if _is_python(head):
        for i, arg in enumerate(args):
            if arg == "-c" and i + 1 < len(args):
                if any(marker in args[i + 1] for marker in _PYTHON_WALKS):
                    return list_files_action(joined, None)
                break
        return unknown_action(joined)
    return unknown_action(joined)


def _is_python(cmd: str) -> bool:
    return cmd in ("python", "python2", "python3") or cmd.startswith(("python2.", "python3."))
