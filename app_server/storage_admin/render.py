"""Output of `storage report` and `storage prune`: aligned text tables, or `--json` objects.

The JSON objects are the machine-readable contract (snake_case keys, sizes in bytes, ages in
seconds); the text is for people and may change. Both are built from the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from app_server.storage_admin.durations import format_age
from app_server.storage_admin.inventory import IndexFile, RolloutEntry, StorageReport, Tally
from app_server.storage_admin.prune_apply import PruneResult
from app_server.storage_admin.prune_plan import PrunePlan, SkippedThread

MAX_LISTED_TEMP_FILES = 20
"""Temp files listed by path in the text report (all are counted; `--json` lists every one)."""


def format_bytes(size: int) -> str:
    """`1536` → `1.5 KiB` (binary units, one decimal; plain bytes below 1 KiB)."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    units = ("KiB", "MiB", "GiB", "TiB")
    for index, unit in enumerate(units):
        value /= 1024
        if value < 1024 or index == len(units) - 1:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def _table(rows: Sequence[Sequence[str]], *, right: Sequence[int] = (), indent: str = "  ") -> str:
    """Rows as aligned columns; column numbers in `right` are right-aligned."""
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append((indent + "  ".join(cells)).rstrip())
    return "\n".join(lines)


def _threads(count: int) -> str:
    return f"{count} thread" if count == 1 else f"{count} threads"


def _tally_json(tally: Tally) -> dict[str, int]:
    return {"count": tally.count, "bytes": tally.bytes}


def _form(entry: RolloutEntry) -> str:
    return "zst" if entry.compressed else "plain"


# -- storage report -------------------------------------------------------------------------------
def report_json(report: StorageReport) -> dict[str, Any]:
    """The `storage report --json` object."""
    data_dir = report.data_dir
    return {
        "data_dir": str(data_dir),
        "threads": {
            "live": {
                "plain": _tally_json(report.live_plain),
                "compressed": _tally_json(report.live_compressed),
            },
            "archived": {
                "plain": _tally_json(report.archived_plain),
                "compressed": _tally_json(report.archived_compressed),
            },
            "total": _tally_json(report.threads),
        },
        "largest_rollouts": [
            {
                "thread_id": entry.thread_id,
                "bytes": entry.size,
                "compressed": entry.compressed,
                "archived": entry.archived,
                "path": entry.path.relative_to(data_dir).as_posix(),
            }
            for entry in report.largest
        ],
        "index_files": [
            {"path": f.path, "bytes": f.bytes, "owner": f.owner, "current": f.current}
            for f in report.index_files
        ],
        "session_index": (
            None
            if report.session_index is None
            else {"path": report.session_index.path, "bytes": report.session_index.bytes}
        ),
        "temp_files": [{"path": f.path, "bytes": f.bytes} for f in report.temp_files],
        "shadowed_zst": _tally_json(report.shadowed_zst),
        "other_in_session_trees": _tally_json(report.other_in_trees),
        "db_backups": {"folders": report.db_backup_folders, **_tally_json(report.db_backups)},
        "other": _tally_json(report.other),
        "total": _tally_json(report.total),
    }


def report_text(report: StorageReport) -> str:
    """The human-readable `storage report`."""
    sections = [f"Data dir: {report.data_dir}"]
    threads = [("Threads", "count", "size")]
    for label, tally in (
        ("live, plain (.jsonl)", report.live_plain),
        ("live, compressed (.jsonl.zst)", report.live_compressed),
        ("archived, plain (.jsonl)", report.archived_plain),
        ("archived, compressed (.jsonl.zst)", report.archived_compressed),
        ("all threads", report.threads),
    ):
        threads.append((label, str(tally.count), format_bytes(tally.bytes)))
    sections.append(_table(threads, right=(1, 2), indent=""))

    if report.largest:
        rows = [("thread id", "size", "form", "state", "path")]
        rows += [
            (
                entry.thread_id,
                format_bytes(entry.size),
                _form(entry),
                "archived" if entry.archived else "live",
                entry.path.relative_to(report.data_dir).as_posix(),
            )
            for entry in report.largest
        ]
        sections.append(
            f"Largest rollouts (top {len(report.largest)})\n" + _table(rows, right=(1,))
        )

    if report.index_files:
        index_rows = [(f.path, format_bytes(f.bytes), _index_owner(f)) for f in report.index_files]
        sections.append("Index databases\n" + _table(index_rows, right=(1,)))
    else:
        sections.append("Index databases\n  (none)")

    other = [("Other files", "count", "size")]
    if report.session_index is not None:
        other.append((report.session_index.path, "1", format_bytes(report.session_index.bytes)))
    temp = Tally(len(report.temp_files), sum(f.bytes for f in report.temp_files))
    for label, tally in (
        ("leftover temp files (*.tmp) under sessions trees", temp),
        (".jsonl.zst shadowed by a plain sibling", report.shadowed_zst),
        ("other files under sessions trees", report.other_in_trees),
        (f"db-backups/ ({report.db_backup_folders} folders)", report.db_backups),
        ("everything else (config, locks, logs, ...)", report.other),
    ):
        other.append((label, str(tally.count), format_bytes(tally.bytes)))
    text = _table(other, right=(1, 2), indent="")
    listed = report.temp_files[:MAX_LISTED_TEMP_FILES]
    if listed:
        text += "\n  temp files:\n" + _table(
            [(f.path, format_bytes(f.bytes)) for f in listed], right=(1,), indent="    "
        )
        if len(report.temp_files) > len(listed):
            text += f"\n    ... and {len(report.temp_files) - len(listed)} more"
    sections.append(text)
    sections.append(
        f"Total: {report.total.count} files, {format_bytes(report.total.bytes)}"
        f" ({report.total.bytes} bytes)"
    )
    return "\n\n".join(sections) + "\n"


def _index_owner(index_file: IndexFile) -> str:
    if index_file.owner != "app-server":
        return index_file.owner
    return "app-server (current)" if index_file.current else "app-server (older generation)"


# -- storage prune --------------------------------------------------------------------------------
def _cutoff_text(plan: PrunePlan) -> str:
    moment = datetime.fromtimestamp(plan.cutoff_ns / 1e9, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _skipped_json(plan: PrunePlan, skipped: Sequence[SkippedThread]) -> list[dict[str, Any]]:
    return [
        {
            "thread_id": s.thread_id,
            "bytes": s.bytes,
            "age_seconds": int(plan.age_seconds(s.mtime_ns)),
            "reason": s.reason,
        }
        for s in skipped
    ]


def _skipped_text(
    plan: PrunePlan, skipped: Sequence[SkippedThread], *, heading: str = "Skipped"
) -> str:
    if not skipped:
        return f"{heading}: none"
    rows = [("thread id", "size", "age", "reason")]
    rows += [
        (s.thread_id, format_bytes(s.bytes), format_age(plan.age_seconds(s.mtime_ns)), s.reason)
        for s in skipped
    ]
    note = " (left in place)" if heading == "Skipped" else ""
    return f"{heading} {len(skipped)}{note}:\n" + _table(rows, right=(1, 2))


def _header(plan: PrunePlan) -> str:
    return (
        f"Archived threads whose rollout was last modified more than {plan.older_than} ago"
        f" (before {_cutoff_text(plan)}); live threads are never removed, nor a thread whose"
        " spawned sub-agent threads are live or recent."
    )


def plan_json(plan: PrunePlan) -> dict[str, Any]:
    """The `storage prune --json` object of a dry run (`removed` = would be removed)."""
    removed = [
        {
            "thread_id": entry.thread_id,
            "bytes": entry.size,
            "age_seconds": int(plan.age_seconds(entry.mtime_ns)),
            "spawned_by_candidate": None if entry is removal.root else removal.root.thread_id,
        }
        for removal in plan.removals
        for entry in removal.entries
    ]
    return {
        "dry_run": True,
        "older_than": plan.older_than,
        "cutoff": _cutoff_text(plan),
        "removed": removed,
        "removed_count": len(removed),
        "removed_bytes": plan.bytes,
        "skipped": _skipped_json(plan, plan.skipped),
    }


def plan_text(plan: PrunePlan) -> str:
    """The human-readable dry run."""
    sections = ["Dry run: nothing was changed. Run again with --apply to delete.", _header(plan)]
    if plan.removals:
        rows = [("thread id", "size", "age", "")]
        for removal in plan.removals:
            for entry in removal.entries:
                note = (
                    "" if entry is removal.root else f"spawned, goes with {removal.root.thread_id}"
                )
                rows.append(
                    (
                        entry.thread_id,
                        format_bytes(entry.size),
                        format_age(plan.age_seconds(entry.mtime_ns)),
                        note,
                    )
                )
        sections.append("Would remove:\n" + _table(rows, right=(1, 2)))
    spawned = plan.thread_count - len(plan.removals)
    sections.append(
        f"Would remove {_threads(plan.thread_count)}"
        + (f" (including {spawned} spawned sub-agent)" if spawned else "")
        + f", {format_bytes(plan.bytes)} ({plan.bytes} bytes)."
    )
    sections.append(_skipped_text(plan, plan.skipped))
    return "\n\n".join(sections) + "\n"


def result_json(plan: PrunePlan, result: PruneResult) -> dict[str, Any]:
    """The `storage prune --apply --json` object."""
    return {
        "dry_run": False,
        "older_than": plan.older_than,
        "cutoff": _cutoff_text(plan),
        "removed": [
            {
                "thread_id": r.thread_id,
                "bytes": r.bytes,
                "age_seconds": int(plan.age_seconds(r.mtime_ns)),
                "spawned_by_candidate": None if r.root == r.thread_id else r.root,
            }
            for r in result.removed
        ],
        "removed_count": len(result.removed),
        "removed_bytes": result.bytes_freed,
        "skipped": _skipped_json(plan, result.skipped),
        "failed": _skipped_json(plan, result.failed),
    }


def result_text(plan: PrunePlan, result: PruneResult) -> str:
    """The human-readable summary of `--apply`."""
    sections = [_header(plan)]
    if result.removed:
        rows = [("thread id", "size", "age", "")]
        rows += [
            (
                r.thread_id,
                format_bytes(r.bytes),
                format_age(plan.age_seconds(r.mtime_ns)),
                "" if r.root == r.thread_id else f"spawned, went with {r.root}",
            )
            for r in result.removed
        ]
        sections.append("Removed:\n" + _table(rows, right=(1, 2)))
    sections.append(
        f"Removed {_threads(len(result.removed))}, freed {format_bytes(result.bytes_freed)}"
        f" ({result.bytes_freed} bytes)."
    )
    sections.append(_skipped_text(plan, result.skipped))
    if result.failed:
        sections.append(_skipped_text(plan, result.failed, heading="Failed"))
    return "\n\n".join(sections) + "\n"
