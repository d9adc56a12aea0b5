"""Compute a file's new text from update chunks, locating each chunk like codex does.

Pure functions on strings. Chunks are located in order, each after the previous one
(`codex-rs/apply-patch/src/lib.rs` `compute_replacements` and `seek_sequence.rs`):

* a chunk's `@@ context` line is searched first and the chunk must come after it;
* `old_lines` are searched with decreasing strictness — exact, ignoring trailing whitespace,
  ignoring surrounding whitespace, then with typographic punctuation folded to ASCII;
* `*** End of File` tries the end of the file first;
* a pattern ending in an empty line (the file's final newline) is retried without it;
* a chunk without old lines is a pure addition, appended at the end of the file (codex does so
  even when the chunk has a `@@` context line).

The result always ends with a newline. A file whose line ends are all CRLF keeps CRLF (codex
only does this on Windows; elsewhere it mixes endings, which is never what the model meant).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app_server.agent.tools.patch.errors import PatchApplyError
from app_server.agent.tools.patch.parser import UpdateFileChunk

CRLF = "\r\n"
LF = "\n"

# Typographic characters a model tends to write as ASCII (codex `seek_sequence` normalise()).
_PUNCTUATION_TO_ASCII = str.maketrans(
    {
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u2018\u2019\u201a\u201b", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f", '"'),
        **dict.fromkeys(
            "\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "
        ),
    }
)


def _normalise(line: str) -> str:
    return line.strip().translate(_PUNCTUATION_TO_ASCII)


# Comparisons from strictest to most lenient; the first that finds the pattern wins.
_LINE_COMPARATORS: tuple[Callable[[str], str], ...] = (
    lambda line: line,
    str.rstrip,
    str.strip,
    _normalise,
)

Replacement = tuple[int, int, tuple[str, ...]]


def seek_sequence(
    lines: Sequence[str], pattern: Sequence[str], start: int, eof: bool
) -> int | None:
    """Index where `pattern` occurs in `lines` at or after `start`, or None.

    With `eof`, the search starts where the pattern would end the file; like codex, when that
    fails it does not fall back further than that position.
    """
    if not pattern:
        return start
    if len(pattern) > len(lines):
        return None
    search_start = len(lines) - len(pattern) if eof else start
    last_start = len(lines) - len(pattern)
    for key in _LINE_COMPARATORS:
        wanted = [key(line) for line in pattern]
        keyed = [key(line) for line in lines[search_start:]]
        for offset in range(last_start - search_start + 1):
            if keyed[offset : offset + len(wanted)] == wanted:
                return search_start + offset
    return None


def uses_crlf(text: str) -> bool:
    """True when the text has line ends and every one of them is CRLF."""
    newlines = text.count(LF)
    return newlines > 0 and text.count(CRLF) == newlines


def split_content_lines(text: str) -> list[str]:
    """Lines without their `\\n`; a final newline does not make an extra empty line."""
    lines = text.split(LF)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def compute_replacements(
    lines: Sequence[str], chunks: Sequence[UpdateFileChunk], display_path: str
) -> list[Replacement]:
    """Locate every chunk in order; return (start, old length, new lines) sorted by start."""
    replacements: list[Replacement] = []
    line_index = 0
    for chunk in chunks:
        if chunk.change_context is not None:
            found = seek_sequence(lines, [chunk.change_context], line_index, False)
            if found is None:
                raise PatchApplyError(
                    f"Failed to find context '{chunk.change_context}' in {display_path}"
                )
            line_index = found + 1
        if not chunk.old_lines:
            at = len(lines) - 1 if lines and lines[-1] == "" else len(lines)
            replacements.append((at, 0, chunk.new_lines))
            continue
        pattern = chunk.old_lines
        new_slice = chunk.new_lines
        found = seek_sequence(lines, pattern, line_index, chunk.is_end_of_file)
        if found is None and pattern[-1] == "":
            pattern = pattern[:-1]
            if new_slice and new_slice[-1] == "":
                new_slice = new_slice[:-1]
            found = seek_sequence(lines, pattern, line_index, chunk.is_end_of_file)
        if found is None:
            expected = LF.join(chunk.old_lines)
            raise PatchApplyError(f"Failed to find expected lines in {display_path}:\n{expected}")
        replacements.append((found, len(pattern), new_slice))
        line_index = found + len(pattern)
    replacements.sort(key=lambda replacement: replacement[0])
    return replacements


def apply_replacements(lines: Sequence[str], replacements: Sequence[Replacement]) -> list[str]:
    """Apply replacements from the last to the first so earlier indices stay valid."""
    result = list(lines)
    for start, old_length, new_lines in reversed(replacements):
        result[start : start + old_length] = new_lines
    return result


def apply_chunks(original: str, chunks: Sequence[UpdateFileChunk], display_path: str) -> str:
    """The file's text after applying `chunks`, or `PatchApplyError` if one does not fit."""
    crlf = uses_crlf(original)
    text = original.replace(CRLF, LF) if crlf else original
    lines = split_content_lines(text)
    new_lines = apply_replacements(lines, compute_replacements(lines, chunks, display_path))
    if not new_lines or new_lines[-1] != "":
        new_lines.append("")
    new_text = LF.join(new_lines)
    return new_text.replace(LF, CRLF) if crlf else new_text
