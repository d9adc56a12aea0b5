"""Unified diffs in the shapes codex emits: per-file hunk bodies and the git-style turn diff.

codex renders with the `similar` crate; its unified format is the same as Python's `difflib`
(same hunk grouping, same `@@ -a,b +c,d @@` ranges with `,1` omitted), plus a
`\\ No newline at end of file` line after a last line without a newline. `difflib` is only used
for the matching; the text is rendered here so that marker can be added.

The turn diff aggregates a whole turn (`turn/diff/updated`): for every file touched, the content
before the turn first touched it against its content now, like codex's `TurnDiffTracker`
(`diff --git`, `new file mode` / `deleted file mode`, an `index <blob>..<blob>` line, `---`/`+++`
headers with `/dev/null` for an absent side, 3 lines of context). A move whose source existed
before the turn and whose destination did not is shown as one diff from source to destination.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from app_server.agent.tools.patch.apply import AppliedPatch, PlannedChange

FILE_CHANGE_CONTEXT_LINES = 1
"""Context of the per-file diff in a `fileChange` item (codex `unified_diff_from_chunks`)."""
TURN_DIFF_CONTEXT_LINES = 3
"""Context of the aggregated turn diff (codex `TurnDiffTracker`)."""
NO_NEWLINE_MARKER = "\\ No newline at end of file"
ZERO_OID = "0" * 40
DEV_NULL = "/dev/null"
REGULAR_FILE_MODE = "100644"


def split_lines_keepends(text: str) -> list[str]:
    """Lines ending in `\\n` (only `\\n` ends a line); a last line may lack it."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _hunk_range(start: int, stop: int) -> str:
    """`start,length` of a hunk side, 1-based; `,1` omitted; an empty side names the line before."""
    beginning = start + 1
    length = stop - start
    if length == 1:
        return str(beginning)
    if length == 0:
        beginning -= 1
    return f"{beginning},{length}"


def unified_diff_hunks(old: str, new: str, context: int = FILE_CHANGE_CONTEXT_LINES) -> str:
    """The `@@` hunks turning `old` into `new`, without `---`/`+++` headers ("" if equal)."""
    old_lines = split_lines_keepends(old)
    new_lines = split_lines_keepends(new)
    import difflib  # only when a patch is applied: ~7 ms off the server's start

    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    out: list[str] = []

    def emit(sign: str, line: str) -> None:
        out.append(sign + line)
        if not line.endswith("\n"):
            out.append(f"\n{NO_NEWLINE_MARKER}\n")

    for group in matcher.get_grouped_opcodes(context):
        old_range = _hunk_range(group[0][1], group[-1][2])
        new_range = _hunk_range(group[0][3], group[-1][4])
        out.append(f"@@ -{old_range} +{new_range} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for line in old_lines[i1:i2]:
                    emit(" ", line)
                continue
            for line in old_lines[i1:i2]:
                emit("-", line)
            for line in new_lines[j1:j2]:
                emit("+", line)
    return "".join(out)


def git_blob_oid(text: str) -> str:
    """The git object id of a blob with this (UTF-8) content."""
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _display(path: Path, display_root: Path | None) -> str:
    """Path relative to the root when below it (codex keeps others absolute)."""
    if display_root is not None and path.is_relative_to(display_root):
        return path.relative_to(display_root).as_posix()
    return path.as_posix()


def render_file_diff(
    left_name: str, left: str | None, right_name: str, right: str | None
) -> str | None:
    """One file's git-style diff (`a/left_name` → `b/right_name`); None when equal."""
    if left == right:
        return None
    header = [f"diff --git a/{left_name} b/{right_name}\n"]
    if left is None:
        header.append(f"new file mode {REGULAR_FILE_MODE}\n")
    elif right is None:
        header.append(f"deleted file mode {REGULAR_FILE_MODE}\n")
    left_oid = ZERO_OID if left is None else git_blob_oid(left)
    right_oid = ZERO_OID if right is None else git_blob_oid(right)
    header.append(f"index {left_oid}..{right_oid}\n")
    header.append(f"--- {DEV_NULL if left is None else 'a/' + left_name}\n")
    header.append(f"+++ {DEV_NULL if right is None else 'b/' + right_name}\n")
    hunks = unified_diff_hunks(left or "", right or "", TURN_DIFF_CONTEXT_LINES)
    return "".join(header) + hunks


def turn_diff(
    baselines: Mapping[Path, str | None],
    current: Mapping[Path, str | None],
    *,
    display_root: Path | None = None,
    renames: Mapping[Path, Path] | None = None,
) -> str:
    """Git-style diff of every file from its baseline to its current content ("" if none).

    `baselines`: content before the turn first touched the file (None: it did not exist);
    `current`: content now (None: gone). A path missing from a mapping counts as None. `renames`
    maps a source to its destination when the pair should render as one diff. Files are sorted
    by their displayed path (relative to `display_root` when below it).
    """
    renames = renames or {}
    destinations = set(renames.values())
    paths = sorted(set(baselines) | set(current), key=lambda path: _display(path, display_root))
    out: list[str] = []
    for path in paths:
        if path in destinations:
            continue
        target = renames.get(path, path)
        diff = render_file_diff(
            _display(path, display_root),
            baselines.get(path),
            _display(target, display_root),
            current.get(target),
        )
        if diff:
            out.append(diff if diff.endswith("\n") else diff + "\n")
    return "".join(out)


class TurnDiffTracker:
    """Accumulates the applied patches of one turn into codex's aggregated turn diff.

    Works from the contents the patches saw (no re-reading of the disk), keyed by the absolute
    paths the patches named. Feed it every successfully applied patch in order.
    """

    def __init__(self, display_root: Path | None = None) -> None:
        self.display_root = display_root
        self._baseline: dict[Path, str] = {}
        self._current: dict[Path, str] = {}
        self._origin: dict[Path, Path] = {}

    def _remember_baseline(self, path: Path, content: str | None) -> None:
        """Record what a file held before the turn, the first time the turn touches it."""
        if path not in self._current and path not in self._baseline and content is not None:
            self._baseline[path] = content

    def track(self, applied: AppliedPatch) -> None:
        """Fold one applied patch into the turn's state."""
        for change in applied.changes:
            path = change.path.path
            if change.kind == "add":
                self._origin.pop(path, None)
                self._remember_baseline(path, change.old_content)
                self._current[path] = change.new_content or ""
            elif change.kind == "delete":
                if self._current.pop(path, None) is None:
                    self._remember_baseline(path, change.old_content)
                self._origin.pop(path, None)
            else:
                self._track_update(change)

    def _track_update(self, change: PlannedChange) -> None:
        source = change.path.path
        new_content = change.new_content or ""
        self._remember_baseline(source, change.old_content)
        if change.move_to is None or change.move_to.real == change.path.real:
            # No move, or a move onto the same file under another name: an in-place update.
            self._current[source] = new_content
            return
        destination = change.move_to.path
        self._remember_baseline(destination, change.overwritten_move_content)
        origin = self._origin.pop(source, source)
        self._current.pop(source, None)
        self._current[destination] = new_content
        self._origin.pop(destination, None)
        if destination != origin:
            self._origin[destination] = origin

    def _rename_pairs(self) -> dict[Path, Path]:
        """Source → destination for moves that read best as one diff (codex's rule)."""
        pairs: dict[Path, Path] = {}
        for destination, origin in self._origin.items():
            if (
                destination != origin
                and origin not in self._current
                and destination in self._current
                and origin in self._baseline
                and destination not in self._baseline
            ):
                pairs[origin] = destination
        return pairs

    def unified_diff(self) -> str | None:
        """The aggregated diff of the turn so far; None when nothing differs."""
        baselines: dict[Path, str | None] = dict(self._baseline)
        current: dict[Path, str | None] = dict(self._current)
        diff = turn_diff(
            baselines, current, display_root=self.display_root, renames=self._rename_pairs()
        )
        return diff or None
