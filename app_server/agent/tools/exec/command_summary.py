"""What one simple command does, as a `parsed_cmd` entry (codex's `summarize_main_tokens`).

`summarize` classifies a command's words as `read` (cat, head, tail, sed -n, awk, nl, bat,
less, ...), `list_files` (ls, tree, du, rg --files, fd, find, git ls-files, a Python walk),
`search` (grep, rg, ag, git grep, fd / find with a pattern) or `unknown`, using per-tool
tables of the flags that take a value. `is_small_formatting_command` recognises the helpers
`parse_command` drops from a pipeline (`| head -n 5`, `| wc -l`, a non-mutating `xargs`).
The entry constructors (`read_action`, ...) give the core / rollout spelling of each kind.
"""

from __future__ import annotations

from typing import Any

from app_server.agent.tools.exec.command_operands import (
    awk_data_file_operand,
    first_operand,
    is_pathish,
    sed_read_path,
    short_display_path,
    single_operand,
    skip_flag_values,
)
from app_server.agent.tools.exec.process import shlex_join


def read_action(cmd: str, name: str, path: str) -> dict[str, Any]:
    return {"type": "read", "cmd": cmd, "name": name, "path": path}


def list_files_action(cmd: str, path: str | None) -> dict[str, Any]:
    return {"type": "list_files", "cmd": cmd, "path": path}


def search_action(cmd: str, query: str | None, path: str | None) -> dict[str, Any]:
    return {"type": "search", "cmd": cmd, "query": query, "path": path}


def unknown_action(cmd: str) -> dict[str, Any]:
    return {"type": "unknown", "cmd": cmd}


def is_small_formatting_command(words: list[str]) -> bool:
    """Whether the command only formats what is piped to it (dropped from the summary)."""
    if not words:
        return False
    cmd, args = words[0], words[1:]
    if cmd in ("wc", "tr", "cut", "sort", "uniq", "tee", "column", "yes", "printf"):
        return True
    if cmd == "xargs":
        return not _is_mutating_xargs(words)
    if cmd == "awk":
        return awk_data_file_operand(args) is None
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
        return sed_read_path(args) is None
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


def _read(words: list[str], path: str) -> dict[str, Any]:
    return read_action(shlex_join(words), short_display_path(path), path)


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
    path = short_display_path(operands[path_index]) if len(operands) > path_index else None
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


def summarize(words: list[str]) -> dict[str, Any]:
    """One simple command as a `parsed_cmd` entry (codex's `summarize_main_tokens`)."""
    head, args = words[0], words[1:]
    joined = shlex_join(words)
    path: str | None
    if head in ("ls", "eza", "exa"):
        path = first_operand(args, _LS_FLAGS if head == "ls" else _EZA_FLAGS)
        return list_files_action(joined, short_display_path(path) if path else None)
    if head in ("tree", "du"):
        path = first_operand(args, _TREE_FLAGS if head == "tree" else _DU_FLAGS)
        return list_files_action(joined, short_display_path(path) if path else None)
    if head in ("rg", "rga", "ripgrep-all"):
        non_flags = [a for a in skip_flag_values(args, _RG_FLAGS) if not a.startswith("-")]
        if "--files" in args:
            return list_files_action(
                joined, short_display_path(non_flags[0]) if non_flags else None
            )
        return search_action(
            joined,
            non_flags[0] if non_flags else None,
            short_display_path(non_flags[1]) if len(non_flags) > 1 else None,
        )
    if head == "git" and args:
        if args[0] == "grep":
            return _grep_like(words, args[1:])
        if args[0] == "ls-files":
            path = first_operand(args[1:], ("--exclude", "--exclude-from", "--pathspec-from-file"))
            return list_files_action(joined, short_display_path(path) if path else None)
        return unknown_action(joined)
    if head == "fd":
        non_flags = [a for a in skip_flag_values(args, _FD_FLAGS) if not a.startswith("-")]
        query: str | None = None
        path = None
        if len(non_flags) == 1:
            if is_pathish(non_flags[0]):
                path = short_display_path(non_flags[0])
            else:
                query = non_flags[0]
        elif len(non_flags) >= 2:
            query, path = non_flags[0], short_display_path(non_flags[1])
        if query is not None:
            return search_action(joined, query, path)
        return list_files_action(joined, path)
    if head == "find":
        path = next(
            (
                short_display_path(a)
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
        non_flags = [a for a in skip_flag_values(args, _AG_FLAGS) if not a.startswith("-")]
        return search_action(
            joined,
            non_flags[0] if non_flags else None,
            short_display_path(non_flags[1]) if len(non_flags) > 1 else None,
        )
    if head in ("cat", "more"):
        return _read_or_unknown(words, single_operand(args, ()))
    if head in ("bat", "batcat"):
        return _read_or_unknown(words, single_operand(args, _BAT_FLAGS))
    if head == "less":
        return _read_or_unknown(words, single_operand(args, _LESS_FLAGS))
    if head == "head":
        return _head_tail_read(words, args, allow_plus=False)
    if head == "tail":
        return _head_tail_read(words, args, allow_plus=True)
    if head == "awk":
        return _read_or_unknown(words, awk_data_file_operand(args))
    if head == "nl":
        candidates = skip_flag_values(args, ("-s", "-w", "-v", "-i", "-b"))
        return _read_or_unknown(words, next((c for c in candidates if not c.startswith("-")), None))
    if head == "sed":
        return _read_or_unknown(words, sed_read_path(args))
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
