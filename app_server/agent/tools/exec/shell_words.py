"""Splitting a shell script into simple commands, for `parse_command`.

Only scripts made of plain words joined by `&&`, `||`, `;`, `|` (and newlines) are split —
quoting and backslash escapes are understood, anything else (redirections, `$` / backtick
expansions, subshells, `&`, comments, assignments, compound commands) makes the script
unparsable, like codex's tree-sitter `try_parse_word_only_commands_sequence`. What each
command does is `command_summary`'s business; this module only knows words and connectors.

The lexing is the standard library's: `shlex` in punctuation mode splits words from operator
runs and removes quotes. shlex does not say what was quoted, though, and bash cares: `'&&'` is
a word but `&&` chains, `'$HOME'` is text but `"$HOME"` expands. So shlex reads the script
through `_Reader`, which watches the lexer's state as each character goes in and refuses
(`_NotWordOnly`) what bash would expand or treat as a comment. The reader also applies the
few bash escapes shlex lacks (line continuations, `\\$` and backslash-backtick in double
quotes), so words come out as bash would see them.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from typing import Literal

CONNECTORS = frozenset({"&&", "||", "|", ";"})
"""The operators that join simple commands in a word-only script."""
_RESERVED_FIRST_WORDS = frozenset(
    {
        "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case",
        "esac", "function", "select", "time", "coproc", "!", "{", "}", "[[", "]]", "[",
    }
)  # fmt: skip
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
_OPERATOR_CHARS = frozenset("();<>|&")
"""shlex's default punctuation characters: runs of them are operators."""
_PUNCTUATION = "();<>|&\n"
"""What shlex splits as operators here: newline too, which ends a command like `;` does."""
_OPERATOR = re.compile(r"&&|\|\||;;|\|&|.", re.DOTALL)
"""One operator of a run shlex returns as one token (`;\\n`, `&&&`), longest first, as bash
reads them; anything but a connector or a newline is refused."""

# shlex's lexer states (its undocumented `state` attribute, stable since Python 3.6).
_BETWEEN_TOKENS = " "
_IN_OPERATOR = "c"
_IN_SINGLE_QUOTES = "'"
_IN_DOUBLE_QUOTES = '"'
_AFTER_BACKSLASH = "\\"


class _NotWordOnly(ValueError):
    """The script uses something beyond plain words and connectors (a ValueError, like shlex's
    own complaints about unterminated quotes, so one `except` answers both)."""


class _Lexer(shlex.shlex):
    """shlex with its current state declared (it has one, untyped), for `_Reader`."""

    state: str | None


class _Reader:
    """The script as shlex reads it, one character at a time.

    shlex reads each character in the state that will consume it (between tokens, in a word,
    in an operator, in quotes, after a backslash), which says what its tokens no longer do:
    whether a character was quoted, escaped or part of an operator.
    """

    def __init__(self, script: str) -> None:
        self._text = script
        self._pos = 0
        self._lexer = _Lexer(self, posix=True, punctuation_chars=_PUNCTUATION)
        self._lexer.whitespace = " \t"  # newlines are operators; `\r` is part of a word
        self._lexer.whitespace_split = True  # words end at whitespace and operators only
        self._lexer.commenters = ""  # `#` starts a comment only at a word start: see `read`
        self._read_in_operator = False

    def tokens(self) -> Iterator[tuple[str, bool]]:
        """shlex's tokens, each with whether it is an operator run rather than a word (which
        may look like one when quoted: `'&&'`, `\\;`).

        shlex always reads one character past a token, so an operator run has at least one
        character read in the operator state, and a word, which never enters it, has none.
        """
        while True:
            self._read_in_operator = False
            token = self._lexer.get_token()
            if token is None:
                return
            yield token, self._read_in_operator

    def read(self, size: Literal[1], /) -> str:
        """The next character for shlex, after bash's escapes that shlex does not know;
        refuses (`_NotWordOnly`) a `$` or backtick bash would expand, and a comment."""
        del size  # shlex always reads one
        state = self._lexer.state
        self._skip_line_continuations(state)
        char = self._take()
        if state == _IN_DOUBLE_QUOTES and char == "\\" and self._peek() in ("$", "`"):
            return self._take()  # bash drops this backslash; shlex would keep it
        if state == _IN_OPERATOR:
            self._read_in_operator = True
        if char in ("$", "`") and state not in (_IN_SINGLE_QUOTES, _AFTER_BACKSLASH):
            raise _NotWordOnly(f"{char} expands")  # bare, or in double quotes
        if char == "#" and state in (_BETWEEN_TOKENS, _IN_OPERATOR):
            raise _NotWordOnly("a comment")  # `#` starting a word
        return char

    def readline(self) -> str:
        """Part of shlex's stream interface; unused, since nothing here is a commenter."""
        raise NotImplementedError

    def close(self) -> None:
        """Part of shlex's stream interface; there is nothing to close."""

    def _skip_line_continuations(self, state: str | None) -> None:
        """Drop backslash-newlines, which bash removes before splitting words — except in
        single quotes and after a backslash, where they are literal.

        One inside an operator (`&\\<newline>&`) is refused: bash would join the halves, but
        codex's parse fails, and nobody means it.
        """
        if state in (_IN_SINGLE_QUOTES, _AFTER_BACKSLASH):
            return
        start = self._pos
        while self._text.startswith("\\\n", self._pos):
            self._pos += 2
        if state == _IN_OPERATOR and self._pos > start and self._peek() in _OPERATOR_CHARS:
            raise _NotWordOnly("an operator split by a line continuation")

    def _take(self) -> str:
        char = self._peek()
        self._pos += len(char)
        return char

    def _peek(self) -> str:
        return self._text[self._pos : self._pos + 1]


class _Splitter:
    """Words and operators, in order, grouped into simple commands."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []
        self.tokens: list[str] = []
        self._current: list[str] = []
        self._awaiting_command = False  # after `&&`, `||` or `|`, which need one

    def word(self, word: str) -> None:
        """Add a word; as a command's first, it must not start a compound command (`if`, `{`)
        or be an assignment (`FOO=1 cmd`) — judged on the unquoted text, so `A='b'` and even
        `"A=b"` are refused too: bash assigns the first, and nobody names a command so."""
        if not self._current and (word in _RESERVED_FIRST_WORDS or _ASSIGNMENT.match(word)):
            raise _NotWordOnly(f"{word!r} starts a compound command or an assignment")
        self._current.append(word)
        self.tokens.append(word)
        self._awaiting_command = False

    def operators(self, run: str) -> None:
        """Add a run of operators as shlex returns it (`&&`, `;\\n`, `|&`): connectors and
        newlines are taken one by one, anything else is refused."""
        for operator in _OPERATOR.findall(run):
            if operator == "\n":
                self._end_command()
            elif operator in CONNECTORS:
                self._connect(operator)
            else:
                raise _NotWordOnly(f"{operator!r} is not a connector")

    def finish(self) -> tuple[list[list[str]], list[str]]:
        """The commands and tokens, unless the script ended waiting for a command."""
        if self._awaiting_command:
            raise _NotWordOnly("the script ends with `&&`, `||` or `|`")
        self._end_command()
        return self.commands, self.tokens

    def _connect(self, connector: str) -> None:
        """A connector must come right after a command, on the same line: `&& ls`, `ls; ; pwd`
        and `ls` newline `&& pwd` are bash syntax errors."""
        if not self._current:
            raise _NotWordOnly(f"{connector!r} follows no command")
        self._end_command()
        self.tokens.append(connector)
        self._awaiting_command = connector != ";"

    def _end_command(self) -> None:
        """Close the current command, if any: a newline may also end nothing (`ls &&` newline
        `pwd`, blank lines)."""
        if self._current:
            self.commands.append(self._current)
            self._current = []


def word_only_commands(script: str) -> tuple[list[list[str]], list[str]] | None:
    """Split a script made only of plain words joined by `&&`, `||`, `;`, `|` (and newlines)
    into its commands' words, plus the flat token list (words and connectors).

    None when it uses anything else — redirections, `$`/backtick expansions, subshells, `&`,
    comments, assignments, compound commands — like codex's tree-sitter
    `try_parse_word_only_commands_sequence`.
    """
    splitter = _Splitter()
    try:
        for token, is_operator in _Reader(script).tokens():
            if is_operator:
                splitter.operators(token)
            else:
                splitter.word(token)
        return splitter.finish()
    except ValueError:  # `_NotWordOnly`, or shlex on an unterminated quote or trailing `\`
        return None


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
