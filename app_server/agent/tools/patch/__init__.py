"""codex's `apply_patch`: parse the model's patch, check it against the disk, apply it atomically.

No protocol and no server here — plain functions a tool wraps (AGENT_LOOP.md §5.2):

1. `extract_heredoc_patch(command)` recognises `apply_patch <<'EOF' …` sent as a shell command;
2. `parse_patch(text)` → `Patch` (hunks `AddFile` / `DeleteFile` / `UpdateFile`), or
   `PatchParseError` with codex's message;
3. `plan_patch(patch, cwd, writable_roots)` reads the files and computes every new content
   (blocking: use a worker thread) → `PatchPlan`, or `PatchPathError` (outside the writable
   roots — a caller may ask for approval) / `PatchApplyError` (does not apply);
4. `file_change_summaries(plan)` → the `fileChange` item's changes (show before approval);
5. `apply_plan(plan)` writes all files or none (blocking) → `AppliedPatch`;
6. `summary_output(applied)` → the model's `Success. Updated the following files:` text, and
   `TurnDiffTracker.track(applied)` / `.unified_diff()` → the `turn/diff/updated` diff.

Every error derives from `PatchError`; `str(error)` is the text for the model.
"""

from app_server.agent.tools.patch.apply import (
    AppliedPatch,
    ChangeKind,
    PatchPlan,
    PlannedChange,
    apply_plan,
    plan_and_apply,
    plan_patch,
)
from app_server.agent.tools.patch.changes import (
    FileChangeSummary,
    file_change_summaries,
    summary_output,
)
from app_server.agent.tools.patch.diffs import (
    TurnDiffTracker,
    turn_diff,
    unified_diff_hunks,
)
from app_server.agent.tools.patch.errors import (
    PatchApplyError,
    PatchError,
    PatchParseError,
    PatchPathError,
)
from app_server.agent.tools.patch.parser import (
    AddFile,
    DeleteFile,
    Hunk,
    Patch,
    UpdateFile,
    UpdateFileChunk,
    extract_heredoc_patch,
    parse_patch,
)
from app_server.agent.tools.patch.paths import ResolvedPath

__all__ = [
    "AddFile",
    "AppliedPatch",
    "ChangeKind",
    "DeleteFile",
    "FileChangeSummary",
    "Hunk",
    "Patch",
    "PatchApplyError",
    "PatchError",
    "PatchParseError",
    "PatchPathError",
    "PatchPlan",
    "PlannedChange",
    "ResolvedPath",
    "TurnDiffTracker",
    "UpdateFile",
    "UpdateFileChunk",
    "apply_plan",
    "extract_heredoc_patch",
    "file_change_summaries",
    "parse_patch",
    "plan_and_apply",
    "plan_patch",
    "summary_output",
    "turn_diff",
    "unified_diff_hunks",
]
