"""Parse codex's `apply_patch` format into hunks (no file system access here).

The format, as the model writes it::

    *** Begin Patch
    *** Add File: path/new.txt
    +line one
    *** Update File: path/existing.py
    *** Move to: path/renamed.py
    @@ def something():
     context line
    -old line
    +new line
    *** End of File
    *** Delete File: path/gone.txt
    *** End Patch

The parser follows codex 0.169 (`codex-rs/apply-patch/src/parser.rs`) rule for rule, including
its error messages, because the model reads those messages and retries: leading/trailing
whitespace of the whole text and of the marker lines is ignored, CRLF line ends are accepted, a
patch wrapped in a bare heredoc (`<<'EOF'` … `EOF`) is unwrapped, and the first chunk of an
update may omit its `@@` line. A few harmless extra leniencies are documented where they occur.

`extract_heredoc_patch` recognises a *shell command* that invokes `apply_patch` (models send
patches through `exec_command` too), so the caller can route it here instead of a shell.
"""

from __future__ import annotations

import re
import shlex

from msgspec import Struct

from app_server.agent.tools.patch.errors import PatchParseError

BEGIN_PATCH_MARKER = "*** Begin Patch"
END_PATCH_MARKER = "*** End Patch"
ADD_FILE_MARKER = "*** Add File: "
DELETE_FILE_MARKER = "*** Delete File: "
UPDATE_FILE_MARKER = "*** Update File: "
MOVE_TO_MARKER = "*** Move to: "
EOF_MARKER = "*** End of File"
CHANGE_CONTEXT_MARKER = "@@ "
EMPTY_CHANGE_CONTEXT_MARKER = "@@"

# The first hunk starts on line 2: line 1 is `*** Begin Patch`.
FIRST_HUNK_LINE_NUMBER = 2
# codex's lenient mode: a bare heredoc wrapper around the patch (2 marker lines + >= 2 patch lines).
HEREDOC_OPENERS = frozenset({"<<EOF", "<<'EOF'", '<<"EOF"'})
HEREDOC_CLOSER_SUFFIX = "EOF"
MIN_HEREDOC_WRAPPED_LINES = 4

APPLY_PATCH_COMMANDS = ("apply_patch", "applypatch")

# First line of a shell heredoc invocation: `[cd <dir> &&] apply_patch <<['"]DELIM['"]`.
_HEREDOC_COMMAND = re.compile(
    r"""^\s*
    (?:cd\s+(?P<cd>'[^']*'|"[^"\\$`]*"|[^\s'"\\&|;<>()$`]+)\s*&&\s*)?
    (?:apply_patch|applypatch)
    \s*<<(?P<quote>['"]?)(?P<delim>[A-Za-z_][A-Za-z0-9_]*)(?P=quote)
    \s*$""",
    re.VERBOSE,
)


class UpdateFileChunk(Struct, frozen=True):
    """One `@@` section of an update: `old_lines` (context + removed) become `new_lines`.

    `change_context` is the text after `@@ ` (usually a class or function line) that must occur
    before `old_lines`; `is_end_of_file` anchors `old_lines` at the end of the file.
    """

    change_context: str | None
    old_lines: tuple[str, ...]
    new_lines: tuple[str, ...]
    is_end_of_file: bool = False


class AddFile(Struct, frozen=True):
    """`*** Add File:` — create (or overwrite, like codex) `path` with `content`."""

    path: str
    content: str


class DeleteFile(Struct, frozen=True):
    """`*** Delete File:` — remove `path`."""

    path: str


class UpdateFile(Struct, frozen=True):
    """`*** Update File:` — edit `path` by `chunks`, then optionally rename it to `move_to`."""

    path: str
    move_to: str | None
    chunks: tuple[UpdateFileChunk, ...]


Hunk = AddFile | DeleteFile | UpdateFile


class Patch(Struct, frozen=True):
    """A parsed patch: hunks in patch order, and the patch text without any heredoc wrapper."""

    hunks: tuple[Hunk, ...]
    text: str


def _invalid_patch(message: str) -> PatchParseError:
    return PatchParseError(f"invalid patch: {message}")


def _invalid_hunk(message: str, line_number: int) -> PatchParseError:
    return PatchParseError(f"invalid hunk at line {line_number}, {message}")


def _split_lines(text: str) -> list[str]:
    """Split like Rust's `str::lines`: on `\\n`, dropping one `\\r` before it."""
    if not text:
        return []
    return [line.removesuffix("\r") for line in text.split("\n")]


def parse_patch(text: str) -> Patch:
    """Parse patch text into hunks, or raise `PatchParseError` with codex's message."""
    lines = _split_lines(text.strip())
    patch_lines, body = _check_boundaries(lines)
    hunks: list[Hunk] = []
    index = 0
    line_number = FIRST_HUNK_LINE_NUMBER
    while index < len(body):
        if not body[index].strip():
            # Leniency beyond codex: blank lines between hunks are skipped.
            index += 1
            line_number += 1
            continue
        hunk, consumed = _parse_one_hunk(body[index:], line_number)
        hunks.append(hunk)
        index += consumed
        line_number += consumed
    return Patch(hunks=tuple(hunks), text="\n".join(patch_lines))


def _check_boundaries(lines: list[str]) -> tuple[list[str], list[str]]:
    """Return (patch lines, hunk lines), unwrapping a bare heredoc like codex's lenient mode."""
    try:
        return _check_boundaries_strict(lines)
    except PatchParseError as error:
        first, last = (lines[0], lines[-1]) if len(lines) >= 2 else ("", "")
        if (
            first.strip() in HEREDOC_OPENERS
            and last.strip().endswith(HEREDOC_CLOSER_SUFFIX)
            and len(lines) >= MIN_HEREDOC_WRAPPED_LINES
        ):
            return _check_boundaries_strict(lines[1:-1])
        raise error


def _check_boundaries_strict(lines: list[str]) -> tuple[list[str], list[str]]:
    first = lines[0].strip() if lines else None
    last = lines[-1].strip() if lines else None
    if first == BEGIN_PATCH_MARKER and last == END_PATCH_MARKER and len(lines) >= 2:
        return lines, lines[1:-1]
    if first != BEGIN_PATCH_MARKER:
        raise _invalid_patch("The first line of the patch must be '*** Begin Patch'")
    raise _invalid_patch("The last line of the patch must be '*** End Patch'")


def _parse_one_hunk(lines: list[str], line_number: int) -> tuple[Hunk, int]:
    """Parse the hunk starting at `lines[0]`; return it and how many lines it used."""
    first_line = lines[0].strip()
    if first_line.startswith(ADD_FILE_MARKER):
        content: list[str] = []
        for line in lines[1:]:
            if not line.startswith("+"):
                break
            content.append(line[1:] + "\n")
        path = first_line.removeprefix(ADD_FILE_MARKER).strip()
        return AddFile(path=path, content="".join(content)), 1 + len(content)
    if first_line.startswith(DELETE_FILE_MARKER):
        return DeleteFile(path=first_line.removeprefix(DELETE_FILE_MARKER).strip()), 1
    if first_line.startswith(UPDATE_FILE_MARKER):
        return _parse_update_hunk(lines, line_number)
    raise _invalid_hunk(
        f"'{first_line}' is not a valid hunk header. Valid hunk headers: "
        "'*** Add File: {path}', '*** Delete File: {path}', '*** Update File: {path}'",
        line_number,
    )


def _parse_update_hunk(lines: list[str], line_number: int) -> tuple[UpdateFile, int]:
    path = lines[0].strip().removeprefix(UPDATE_FILE_MARKER).strip()
    parsed = 1
    move_to: str | None = None
    if len(lines) > 1 and lines[1].strip().startswith(MOVE_TO_MARKER):
        move_to = lines[1].strip().removeprefix(MOVE_TO_MARKER).strip()
        parsed += 1
    chunks: list[UpdateFileChunk] = []
    while parsed < len(lines):
        line = lines[parsed]
        if not line.strip():
            # Blank lines may separate chunks.
            parsed += 1
            continue
        if line.startswith("*"):
            break
        chunk, used = _parse_chunk(lines[parsed:], line_number + parsed, not chunks)
        chunks.append(chunk)
        parsed += used
    if not chunks:
        raise _invalid_hunk(f"Update file hunk for path '{path}' is empty", line_number)
    return UpdateFile(path=path, move_to=move_to, chunks=tuple(chunks)), parsed


def _parse_chunk(
    lines: list[str], line_number: int, allow_missing_context: bool
) -> tuple[UpdateFileChunk, int]:
    """Parse one `@@` section; the first section of a hunk may omit the `@@` line."""
    first = lines[0]
    change_context: str | None = None
    if first.rstrip() == EMPTY_CHANGE_CONTEXT_MARKER:
        start = 1
    elif first.startswith(CHANGE_CONTEXT_MARKER):
        change_context = first.removeprefix(CHANGE_CONTEXT_MARKER)
        start = 1
    elif allow_missing_context:
        start = 0
    else:
        raise _invalid_hunk(
            f"Expected update hunk to start with a @@ context marker, got: '{first}'",
            line_number,
        )
    if start >= len(lines):
        raise _invalid_hunk("Update hunk does not contain any lines", line_number + 1)
    old_lines: list[str] = []
    new_lines: list[str] = []
    is_end_of_file = False
    parsed = 0
    for line in lines[start:]:
        if line.rstrip() == EOF_MARKER:
            if parsed == 0:
                raise _invalid_hunk("Update hunk does not contain any lines", line_number + 1)
            is_end_of_file = True
            parsed += 1
            break
        if not line:
            # An empty line is an empty context line (editors strip the lone space).
            old_lines.append("")
            new_lines.append("")
        elif line[0] == " ":
            old_lines.append(line[1:])
            new_lines.append(line[1:])
        elif line[0] == "+":
            new_lines.append(line[1:])
        elif line[0] == "-":
            old_lines.append(line[1:])
        else:
            if parsed == 0:
                raise _invalid_hunk(
                    f"Unexpected line found in update hunk: '{line}'. Every line should start "
                    "with ' ' (context line), '+' (added line), or '-' (removed line)",
                    line_number + 1,
                )
            # The start of the next chunk or hunk.
            break
        parsed += 1
    chunk = UpdateFileChunk(
        change_context=change_context,
        old_lines=tuple(old_lines),
        new_lines=tuple(new_lines),
        is_end_of_file=is_end_of_file,
    )
    return chunk, parsed + start


def extract_heredoc_patch(command: str) -> tuple[str | None, str] | None:
    """If a shell command invokes `apply_patch`, return (workdir of a leading `cd`, patch text).

    Recognised, like codex, only as the whole command:
    `apply_patch <<'EOF'` / `<<"EOF"` / `<<EOF` (any delimiter word) followed by the patch and the
    delimiter line, optionally preceded by `cd <dir> &&`; also `apply_patch '<patch>'` with the
    patch as its single argument. Anything else (`cd a; apply_patch …`, `… && echo done`) returns
    None and stays a shell command. Leniency: a missing closing delimiter ends the body at the
    end of the command, as bash does.
    """
    first_line, _, rest = command.lstrip().partition("\n")
    match = _HEREDOC_COMMAND.match(first_line)
    if match is None:
        return _extract_direct_invocation(command)
    delimiter = match.group("delim")
    body_lines = rest.split("\n")
    end = next(
        (i for i, line in enumerate(body_lines) if line.rstrip() == delimiter), len(body_lines)
    )
    if any(line.strip() for line in body_lines[end + 1 :]):
        return None
    if end == len(body_lines) and any(line.startswith(delimiter) for line in body_lines):
        # `EOF && echo done`: a command follows the heredoc; not a plain apply_patch call.
        return None
    body = "\n".join(body_lines[:end]).rstrip("\n")
    return _unquote_cd_path(match.group("cd")), body


def _extract_direct_invocation(command: str) -> tuple[str | None, str] | None:
    """`apply_patch '<patch>'`: the patch is the one shell-quoted argument."""
    stripped = command.strip()
    if not stripped.startswith(APPLY_PATCH_COMMANDS):
        return None
    try:
        words = shlex.split(stripped)
    except ValueError:
        return None
    if len(words) == 2 and words[0] in APPLY_PATCH_COMMANDS:
        return None, words[1]
    return None


def _unquote_cd_path(raw: str | None) -> str | None:
    if raw is None:
        return None
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw
