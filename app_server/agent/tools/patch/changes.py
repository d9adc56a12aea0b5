"""What a patch changed, in the two shapes others read: the wire and the model.

* `file_change_summaries`: one `FileChangeSummary` per hunk for the `fileChange` item's
  `changes` (`{path, kind: {type, move_path}, diff}` on the wire, PROTOCOL `fileChange`): `add`
  carries the full new content, `delete` the old content, `update` a unified diff body with one
  line of context and no `---`/`+++` headers, exactly as codex builds it.
* `summary_output`: codex's text for the model, `Success. Updated the following files:` then
  `A`/`M`/`D` lines (all adds, then all modifications, then all deletes; paths as the patch named
  them; a move lists its destination).
"""

from __future__ import annotations

from msgspec import Struct

from app_server.agent.tools.patch.apply import AppliedPatch, ChangeKind, PatchPlan
from app_server.agent.tools.patch.diffs import FILE_CHANGE_CONTEXT_LINES, unified_diff_hunks

SUCCESS_HEADER = "Success. Updated the following files:"
ADDED_PREFIX = "A"
MODIFIED_PREFIX = "M"
DELETED_PREFIX = "D"


class FileChangeSummary(Struct, frozen=True):
    """One wire-facing file change: absolute `path`, `kind`, `move_path`, and its `diff`."""

    path: str
    kind: ChangeKind
    move_path: str | None
    diff: str


def file_change_summaries(patch: PatchPlan | AppliedPatch) -> list[FileChangeSummary]:
    """The changes of a planned (or applied) patch, in patch order, for the `fileChange` item."""
    plan = patch.plan if isinstance(patch, AppliedPatch) else patch
    summaries: list[FileChangeSummary] = []
    for change in plan.changes:
        path = str(change.path.path)
        if change.kind == "add":
            diff = change.new_content or ""
        elif change.kind == "delete":
            diff = change.old_content or ""
        else:
            diff = unified_diff_hunks(
                change.old_content or "", change.new_content or "", FILE_CHANGE_CONTEXT_LINES
            )
        move_path = None if change.move_to is None else str(change.move_to.path)
        summaries.append(FileChangeSummary(path, change.kind, move_path, diff))
    return summaries


def summary_output(applied: AppliedPatch) -> str:
    """codex's success text for the model (the part after `Output:`)."""
    added: list[str] = []
    modified: list[str] = []
    deleted: list[str] = []
    for change in applied.changes:
        if change.kind == "add":
            added.append(change.path.display)
        elif change.kind == "delete":
            deleted.append(change.path.display)
        else:
            modified.append((change.move_to or change.path).display)
    lines = [SUCCESS_HEADER]
    lines += [f"{ADDED_PREFIX} {path}" for path in added]
    lines += [f"{MODIFIED_PREFIX} {path}" for path in modified]
    lines += [f"{DELETED_PREFIX} {path}" for path in deleted]
    return "\n".join(lines) + "\n"
