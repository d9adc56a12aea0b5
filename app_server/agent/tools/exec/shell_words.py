"""Splitting a shell script into simple commands, for `parse_command`.

Only scripts made of plain words joined by `&&`, `||`, `;`, `|` (and newlines) are split;
anything else — redirections, `$` / backtick expansions, subshells, `&`, comments,
assignments, compound commands — makes the script unparsable. The rules are codex's own
(`shell-command/src/bash.rs`: `try_parse_shell` + `try_parse_word_only_commands_sequence`),
applied to the same tree-sitter-bash parse tree, so both sides accept and refuse the same
scripts and read the same words:

- the tree must parse without errors;
- every named node is one of `_WORD_ONLY_KINDS` (containers, commands, words, quoted strings,
  numbers, concatenations), every anonymous token is a connector, a quote, or blank;
- a command's name is a bare `word` (so `'cat' x` and `"A=b" ls` are refused);
- a word is its source text as written: codex removes the quotes around `'…'` and `"…"`
  (a double-quoted string may hold only literal text) but no backslash escape, so
  `\\;` stays `\\;` and `"a\\"b"` gives `a\\"b`.

What each command does is `command_summary`'s business; this module only knows words and
connectors. The parser is imported on first use, not at import: server startup stays cheap.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Language, Node, Parser

CONNECTORS = frozenset({"&&", "||", "|", ";"})
"""The operators that join simple commands in a word-only script."""

_WORD_ONLY_KINDS = frozenset(
    {
        "program", "list", "pipeline", "command", "command_name", "word", "string",
        "string_content", "raw_string", "number", "concatenation",
    }
)  # fmt: skip
"""Codex's `ALLOWED_KINDS`: the named nodes a word-only script may contain."""
_ALLOWED_TOKENS = CONNECTORS | {'"', "'"}
"""Codex's `ALLOWED_PUNCT_TOKENS`: the anonymous tokens allowed besides blank ones."""

Split = tuple[list[list[str]], list[str]]
"""Commands (each its words) and the flat token list (words with connectors among them)."""


class _NotWordOnly(Exception):
    """The script uses something beyond plain words and connectors."""


@functools.cache
def _bash() -> Language:
    """The bash grammar, loaded on first use (importing tree-sitter costs startup time)."""
    import tree_sitter
    import tree_sitter_bash

    return tree_sitter.Language(tree_sitter_bash.language())


_parsers = threading.local()
"""One parser per thread: a tree-sitter parser is not safe to share while parsing."""


def _parser() -> Parser:
    parser: Parser | None = getattr(_parsers, "parser", None)
    if parser is None:
        from tree_sitter import Parser

        parser = Parser(_bash())
        _parsers.parser = parser
    return parser


def word_only_commands(script: str) -> Split | None:
    """Split a script made only of plain words joined by `&&`, `||`, `;`, `|` (and newlines)
    into its commands' words, plus the flat token list (words and connectors, in order).

    None when it uses anything else, exactly as codex's tree-sitter
    `try_parse_word_only_commands_sequence` decides (module docstring).
    """
    try:
        source = script.encode("utf-8")
    except UnicodeEncodeError:
        return None  # a lone surrogate (a JSON string may hold one): not text codex could see
    root = _parser().parse(source).root_node
    if root.has_error:
        return None
    try:
        return _split(root)
    except _NotWordOnly:
        return None


def _split(root: Node) -> Split:
    """Codex's walk: every node must be word-only; then each command's words, in source
    order, with the connectors among them for the token list."""
    commands: list[tuple[int, list[str]]] = []
    connectors: list[tuple[int, list[str]]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        kind = node.type
        if node.is_named:
            if kind not in _WORD_ONLY_KINDS:
                raise _NotWordOnly(kind)
            if kind == "command":
                commands.append((node.start_byte, _command_words(node)))
        elif kind in CONNECTORS:
            connectors.append((node.start_byte, [kind]))
        elif kind not in _ALLOWED_TOKENS and kind.strip():
            raise _NotWordOnly(kind)
        stack.extend(node.children)
    commands.sort(key=_start)
    tokens = [token for _, part in sorted([*commands, *connectors], key=_start) for token in part]
    return [words for _, words in commands], tokens


def _start(item: tuple[int, list[str]]) -> int:
    return item[0]


def _command_words(command: Node) -> list[str]:
    """A command's words (codex's `parse_plain_command_from_node`): its name must be a bare
    `word`; concatenated parts are joined, and must not join into nothing."""
    words: list[str] = []
    for child in command.named_children:
        kind = child.type
        if kind == "command_name":
            name = child.named_children
            if not name or name[0].type != "word":
                raise _NotWordOnly("a command name that is not a bare word")
            words.append(_text(name[0]))
        elif kind == "concatenation":
            joined = "".join(_part(part) for part in child.named_children)
            if not joined:
                raise _NotWordOnly("an empty concatenation")
            words.append(joined)
        else:
            words.append(_part(child))
    return words


def _part(node: Node) -> str:
    """One word or piece of a concatenation: a `word` or `number` as written, a quoted string
    without its quotes (a double-quoted one may hold only literal text); else refused."""
    kind = node.type
    if kind in ("word", "number"):
        return _text(node)
    if kind == "string":
        if any(part.type != "string_content" for part in node.named_children):
            raise _NotWordOnly("an expansion in double quotes")
        return _text(node)[1:-1]
    if kind == "raw_string":
        return _text(node)[1:-1]
    raise _NotWordOnly(kind)


def _text(node: Node) -> str:
    text = node.text
    return "" if text is None else text.decode("utf-8")


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
