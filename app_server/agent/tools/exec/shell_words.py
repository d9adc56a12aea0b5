"""Splitting a shell script into simple commands, for `parse_command`.

Only scripts made of plain words joined by `&&`, `||`, `;`, `|` (and newlines) are split —
quoting and backslash escapes are understood, anything else (redirections, `$` / backtick
expansions, subshells, `&`, comments, assignments, compound commands) makes the script
unparsable, like codex's tree-sitter `try_parse_word_only_commands_sequence`. What each
command does is `command_summary`'s business; this module only knows words and connectors.
"""

from __future__ import annotations

import re

CONNECTORS = frozenset({"&&", "||", "|", ";"})
"""The operators that join simple commands in a word-only script."""
_RESERVED_FIRST_WORDS = frozenset(
    {
        "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case",
        "esac", "function", "select", "time", "coproc", "!", "{", "}", "[[", "]]", "[",
    }
)  # fmt: skip
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")


def word_only_commands(script: str) -> tuple[list[list[str]], list[str]] | None:
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


def split_words(cmd: str) -> list[str] | None:
    """The words of `cmd` if it is a single word-only simple command, else None."""
    split = word_only_commands(cmd)
    if split is None or len(split[0]) != 1:
        return None
    return split[0][0]


def first_word(cmd: str) -> str | None:
    """The command name of `cmd` if it is a single word-only simple command, else None."""
    words = split_words(cmd)
    return words[0] if words else None
