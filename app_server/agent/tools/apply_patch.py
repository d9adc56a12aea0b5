"""`apply_patch`: the model edits files with codex's patch format (AGENT_LOOP.md §5.2).

Offered as a freeform custom tool (a lark grammar), or as a function taking `{input}` for models
configured that way; `apply_patch <<'EOF' …` sent through `exec_command` lands here too. One flow
for all: parse and check the patch against the disk, show the `fileChange` item, ask the client
when the policy says so (`approvals.patch_verdict`), apply every file or none, then tell the
model what changed and clients the turn's aggregated diff (`turn/diff/updated`).

A patch is checked twice against the writable roots: once to decide whether it needs approval,
and — because approval can take minutes — the plan re-checks at write time that no path now
resolves elsewhere (a symlink swapped in meanwhile).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from app_server.agent import approvals
from app_server.agent.tools import tool_items
from app_server.agent.tools.arguments import BadArguments, json_arguments, required_str
from app_server.agent.tools.exec.sandbox import SandboxSpec
from app_server.agent.tools.patch import (
    AddFile,
    AppliedPatch,
    DeleteFile,
    Patch,
    PatchError,
    PatchPathError,
    PatchPlan,
    apply_plan,
    file_change_summaries,
    parse_patch,
    plan_patch,
    summary_output,
)
from app_server.agent.tools.patch.paths import real_roots, resolve_patch_path
from app_server.agent.tools.registry import (
    ToolCall,
    ToolContext,
    ToolItem,
    ToolOutput,
    aborted_output,
)
from app_server.rollout import core_items
from app_server.rollout.items import CoreFileChange
from protocol import types as wire

EVERYWHERE = (Path("/"),)

PATCH_GRAMMAR = r"""start: begin_patch hunk+ end_patch
begin_patch: "*** Begin Patch" LF
end_patch: "*** End Patch" LF?

hunk: add_hunk | delete_hunk | update_hunk
add_hunk: "*** Add File: " filename LF add_line+
delete_hunk: "*** Delete File: " filename LF
update_hunk: "*** Update File: " filename LF change_move? change?

filename: /(.+)/
add_line: "+" /(.*)/ LF -> line

change_move: "*** Move to: " filename LF
change: (change_context | change_line)+ eof_line?
change_context: ("@@" | "@@ " /(.+)/) LF
change_line: ("+" | "-" | " ") /(.*)/ LF
eof_line: "*** End of File" LF

%import common.LF
"""
"""The freeform tool's grammar: the patch format's structure, so constrained sampling can only
produce patches that parse."""

DESCRIPTION = (
    "Edit files with a patch. The patch starts with `*** Begin Patch` and ends with "
    "`*** End Patch`; in between, `*** Add File: <path>` followed by `+` lines, "
    "`*** Delete File: <path>`, or `*** Update File: <path>` (optionally `*** Move to: <path>`) "
    "followed by `@@` hunks of context (` `), removed (`-`) and added (`+`) lines. Paths are "
    "relative to the working directory. Either every file is changed or none is."
)


class ApplyPatchTool:
    """`apply_patch` as a freeform custom tool (default) or a function tool with `input`."""

    name = "apply_patch"
    namespace = None
    offered = True

    def __init__(self, *, freeform: bool = True) -> None:
        self._freeform = freeform

    def spec(self) -> dict[str, Any]:
        if self._freeform:
            return {
                "type": "custom",
                "name": self.name,
                "description": DESCRIPTION,
                "format": {"type": "grammar", "syntax": "lark", "definition": PATCH_GRAMMAR},
            }
        return {
            "type": "function",
            "name": self.name,
            "description": DESCRIPTION,
            "strict": False,
            "parameters": {
                "type": "object",
                "properties": {
                    "input": {"type": "string", "description": "The entire patch text."}
                },
                "required": ["input"],
                "additionalProperties": False,
            },
        }

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput:
        if call.kind == "custom":
            text = call.arguments
        else:
            try:
                text = required_str(json_arguments(call), "input")
            except BadArguments as bad:
                return bad.output
        return await run_patch(call.call_id, text, context, Path(context.cwd))


def exec_output(body: str, exit_code: int, seconds: float) -> str:
    """codex's text around a patch result: `Exit code: 0\\nWall time: 0 seconds\\nOutput:\\n…`
    (wall time in tenths of a second, printed like a Rust float)."""
    tenths = round(seconds * 10) / 10
    wall = str(int(tenths)) if tenths == int(tenths) else str(tenths)
    return f"Exit code: {exit_code}\nWall time: {wall} seconds\nOutput:\n{body}"


def _writable_roots(context: ToolContext) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """Where the sandbox policy lets a patch write, and the protected subpaths inside."""
    spec = SandboxSpec.from_policy(context.settings.sandbox, Path(context.cwd))
    return tuple(spec.writable_paths()), tuple(spec.read_only_subpaths())


def paths_needing_approval(
    patch: Patch, cwd: Path, roots: tuple[Path, ...], protected: tuple[Path, ...]
) -> list[str]:
    """The patch's paths outside the writable roots or inside a protected subpath (`.git`)."""
    allowed = real_roots(roots)
    guarded = real_roots(protected)
    outside: list[str] = []
    for hunk in patch.hunks:
        names = [hunk.path]
        if not isinstance(hunk, AddFile | DeleteFile) and hunk.move_to is not None:
            names.append(hunk.move_to)
        for name in names:
            try:
                resolved = resolve_patch_path(name, cwd, allowed)
            except PatchPathError:
                outside.append(name)
                continue
            if any(resolved.real == g or resolved.real.is_relative_to(g) for g in guarded):
                outside.append(name)
    return outside


def _core_changes(plan: PatchPlan) -> dict[str, CoreFileChange]:
    return {
        summary.path: core_items.file_change_entry(summary.kind, summary.diff, summary.move_path)
        for summary in file_change_summaries(plan)
    }


def _plan(text: str, cwd: Path) -> tuple[Patch, PatchPlan]:
    patch = parse_patch(text)
    return patch, plan_patch(patch, cwd, EVERYWHERE)


async def run_patch(call_id: str, text: str, context: ToolContext, cwd: Path) -> ToolOutput:
    """The whole `apply_patch` flow (module docstring); `cwd` is where relative paths start."""
    clock = time.monotonic()
    try:
        patch, plan = await asyncio.to_thread(_plan, text, cwd)
    except PatchError as error:
        return ToolOutput(f"apply_patch verification failed: {error}", success=False)
    roots, protected = _writable_roots(context)
    outside = await asyncio.to_thread(paths_needing_approval, patch, cwd, roots, protected)
    changes = _core_changes(plan)
    memory = context.workspace.approvals
    verdict = approvals.patch_verdict(
        context.settings.approval_policy,
        sandbox_mode=SandboxSpec.from_policy(context.settings.sandbox, cwd).mode,
        outside_roots=bool(outside),
        paths=changes.keys(),
        memory=memory,
    )
    core = core_items.file_change(call_id, changes, "in_progress")
    started = tool_items.publish_started(context, core)

    def finish(status: str, stdout: str = "", stderr: str = "") -> ToolItem:
        final = core_items.file_change(call_id, changes, status, stdout, stderr)
        return tool_items.publish_completed(
            context, final, started, core_items.legacy_patch_end(final)
        )

    if verdict == "refuse":
        reason = "writing outside of the project; rejected by user approval settings"
        item = finish("declined", stderr=reason)
        return ToolOutput(f"patch rejected: {reason}", success=False, item=item)
    if verdict == "ask":
        approvals.announce_waiting(context.host)
        try:
            answer = await approvals.ask(
                context.host,
                "item/fileChange/requestApproval",
                wire.FileChangeRequestApprovalParams(
                    thread_id=context.thread_id,
                    turn_id=context.turn_id,
                    item_id=call_id,
                    started_at_ms=started,
                ),
            )
        except asyncio.CancelledError:  # `turn/interrupt` while waiting: nothing was written
            context.aborted_item = finish("declined")
            raise
        if not answer.approved:
            cancel = answer.decision is approvals.Decision.CANCEL
            item = finish("failed" if answer.request_failed else "declined")
            approvals.announce_running(context.host)
            text = (
                aborted_output(time.monotonic() - clock)
                if cancel
                else "patch approval request failed"
                if answer.request_failed
                else "patch rejected by user"
            )
            return ToolOutput(text, success=False, item=item, abort_turn=cancel)
        approvals.announce_running(context.host)
        memory.remember_patch(answer, changes.keys())
    try:
        applied: AppliedPatch = await asyncio.to_thread(apply_plan, plan)
    except PatchError as error:
        item = finish("failed", stderr=str(error))
        elapsed = time.monotonic() - clock
        return ToolOutput(exec_output(f"{error}\n", 1, elapsed), success=False, item=item)
    summary = summary_output(applied)
    item = finish("completed", stdout=summary)
    context.turn_diff.track(applied)
    diff = context.turn_diff.unified_diff()
    if diff is not None:
        context.publish(
            wire.TurnDiffUpdatedNotification(
                thread_id=context.thread_id, turn_id=context.turn_id, diff=diff
            ),
        )
    return ToolOutput(exec_output(summary, 0, time.monotonic() - clock), item=item)
