"""`app-server storage report` and `app-server storage prune`, run as real processes.

Homes are built the way codex lays them out (`tests.support.homes`); ages are file mtimes
relative to now, since prune's "age" is the time since a rollout was last modified.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import zstandard

from tests.conftest import ServerDirs, Servers
from tests.support.homes import ThreadSpec, write_thread
from tests.support.server_process import PROJECT_ROOT, server_env

DAY_MS = 86_400_000
STAMP = "2026-01-01T00:00:00Z"
NOW_MS = int(time.time() * 1000)


def days_ago(days: int) -> int:
    return NOW_MS - days * DAY_MS


def spec(
    days_old: int, salt: int, *, archived: bool = False, parent: str | None = None
) -> ThreadSpec:
    """A thread created and last modified `days_old` days ago."""
    moment = days_ago(days_old)
    return ThreadSpec(moment, salt=salt, archived=archived, parent=parent, updated_ms=moment)


def compress(plain: Path) -> Path:
    """Replace a plain rollout by its `.jsonl.zst` (level 3, mtime kept), as codex does."""
    target = plain.with_name(plain.name + ".zst")
    target.write_bytes(zstandard.ZstdCompressor(level=3).compress(plain.read_bytes()))
    info = plain.stat()
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    plain.unlink()
    return target


def run_cli(dirs: ServerDirs, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app_server", "--data-dir", str(dirs.data_dir), *args],
        env=server_env(dirs.home),
        cwd=dirs.home,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_json(dirs: ServerDirs, *args: str) -> dict[str, Any]:
    done = run_cli(dirs, *args, "--json")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def snapshot(root: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """Every path under `root`: (size, mtime_ns, content) for files, (0, mtime_ns, None) for
    directories."""
    state: dict[str, tuple[int, int, bytes | None]] = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if path.is_dir():
            state[path.relative_to(root).as_posix()] = (0, info.st_mtime_ns, None)
        else:
            content = path.read_bytes()
            state[path.relative_to(root).as_posix()] = (info.st_size, info.st_mtime_ns, content)
    return state


def file_size(path: Path) -> int:
    return path.stat().st_size


# -- storage report -------------------------------------------------------------------------------
def test_report_counts_threads_by_state_and_form_with_their_bytes(dirs: ServerDirs) -> None:
    data = dirs.data_dir
    live = [write_thread(data, spec(1, salt)) for salt in (1, 2)]
    live_zst = compress(write_thread(data, spec(30, 3)))
    archived = write_thread(data, spec(40, 4, archived=True))
    archived_zst = compress(write_thread(data, spec(50, 5, archived=True)))

    report = run_json(dirs, "storage", "report")

    threads = report["threads"]
    assert threads["live"]["plain"] == {"count": 2, "bytes": sum(map(file_size, live))}
    assert threads["live"]["compressed"] == {"count": 1, "bytes": file_size(live_zst)}
    assert threads["archived"]["plain"] == {"count": 1, "bytes": file_size(archived)}
    assert threads["archived"]["compressed"] == {"count": 1, "bytes": file_size(archived_zst)}
    all_rollouts = [*live, live_zst, archived, archived_zst]
    assert threads["total"] == {"count": 5, "bytes": sum(map(file_size, all_rollouts))}


def test_report_lists_the_largest_rollouts_first(dirs: ServerDirs) -> None:
    data = dirs.data_dir
    small = write_thread(data, spec(1, 1))
    big_spec = spec(2, 2, archived=True)
    big_spec.turns = 20
    big = write_thread(data, big_spec)

    largest = run_json(dirs, "storage", "report", "--top", "1")["largest_rollouts"]

    assert file_size(big) > file_size(small)
    assert largest == [
        {
            "thread_id": big_spec.thread_id,
            "bytes": file_size(big),
            "compressed": False,
            "archived": True,
            "path": big.relative_to(data).as_posix(),
        }
    ]


def test_report_accounts_for_indexes_names_temp_files_and_backups_in_the_total(
    dirs: ServerDirs,
) -> None:
    data = dirs.data_dir
    write_thread(data, spec(1, 1))
    extra = {
        "state_app_server_2.sqlite": 4096,
        "state_app_server_2.sqlite-wal": 100,
        "state_5.sqlite": 8192,
        "thread_history_1.sqlite": 2048,
        "session_index.jsonl": 77,
        "archived_sessions/rollout-compress-abc.tmp": 10,
        "sessions/2026/01/01/rollout-x.jsonl.decompress.1.0.tmp": 20,
        "db-backups/sqlite-1-0/state_app_server_2.sqlite": 300,
        "config.toml": 5,
    }
    for relative, size in extra.items():
        (data / relative).parent.mkdir(parents=True, exist_ok=True)
        (data / relative).write_bytes(b"x" * size)

    report = run_json(dirs, "storage", "report")

    assert report["index_files"] == [
        {"path": "state_5.sqlite", "bytes": 8192, "owner": "codex", "current": False},
        {
            "path": "state_app_server_2.sqlite",
            "bytes": 4096,
            "owner": "app-server",
            "current": True,
        },
        {
            "path": "state_app_server_2.sqlite-wal",
            "bytes": 100,
            "owner": "app-server",
            "current": True,
        },
        {"path": "thread_history_1.sqlite", "bytes": 2048, "owner": "codex", "current": False},
    ]
    assert report["session_index"] == {"path": "session_index.jsonl", "bytes": 77}
    assert sorted(f["path"] for f in report["temp_files"]) == [
        "archived_sessions/rollout-compress-abc.tmp",
        "sessions/2026/01/01/rollout-x.jsonl.decompress.1.0.tmp",
    ]
    assert report["db_backups"] == {"folders": 1, "count": 1, "bytes": 300}
    assert report["other_in_session_trees"] == {"count": 0, "bytes": 0}
    assert report["other"] == {"count": 1, "bytes": 5}
    every_file = [p for p in data.rglob("*") if p.is_file()]
    assert report["total"] == {"count": len(every_file), "bytes": sum(map(file_size, every_file))}


def test_report_as_text_names_each_section_and_the_largest_thread(dirs: ServerDirs) -> None:
    thread = spec(1, 1)
    write_thread(dirs.data_dir, thread)

    done = run_cli(dirs, "storage", "report")

    assert done.returncode == 0, done.stderr
    for heading in ("Threads", "Largest rollouts", "Index databases", "Other files", "Total:"):
        assert heading in done.stdout
    assert thread.thread_id in done.stdout


def test_report_changes_nothing_and_creates_no_index(dirs: ServerDirs) -> None:
    write_thread(dirs.data_dir, spec(200, 1, archived=True))
    before = snapshot(dirs.data_dir)

    assert run_cli(dirs, "storage", "report").returncode == 0

    assert snapshot(dirs.data_dir) == before


def test_report_of_a_missing_data_dir_fails_without_creating_it(dirs: ServerDirs) -> None:
    missing = dirs.data_dir / "nope"

    done = run_cli(dirs, "--data-dir", str(missing), "storage", "report")

    assert done.returncode == 1
    assert "does not exist" in done.stderr
    assert not missing.exists()


# -- storage prune: dry run -----------------------------------------------------------------------
def test_prune_dry_run_changes_nothing_and_names_the_candidates(dirs: ServerDirs) -> None:
    data = dirs.data_dir
    old = spec(200, 1, archived=True)
    write_thread(data, old)
    compressed_old = spec(300, 2, archived=True)
    compress(write_thread(data, compressed_old))
    write_thread(data, spec(400, 3))  # old but live
    before = snapshot(data)

    done = run_cli(dirs, "storage", "prune", "--older-than", "90d")

    assert done.returncode == 0, done.stderr
    assert snapshot(data) == before
    assert "Dry run: nothing was changed" in done.stdout
    assert old.thread_id in done.stdout
    assert compressed_old.thread_id in done.stdout


def test_prune_dry_run_as_json_lists_what_would_be_removed(dirs: ServerDirs) -> None:
    data = dirs.data_dir
    old = spec(200, 1, archived=True)
    old_path = write_thread(data, old)
    write_thread(data, spec(10, 2, archived=True))

    plan = run_json(dirs, "storage", "prune", "--older-than", "90d")

    assert plan["dry_run"] is True
    assert [t["thread_id"] for t in plan["removed"]] == [old.thread_id]
    assert plan["removed"][0]["bytes"] == file_size(old_path)
    assert 199 * 86400 < plan["removed"][0]["age_seconds"] < 201 * 86400
    assert plan["removed_bytes"] == file_size(old_path)
    assert old_path.exists()


# -- storage prune --apply ------------------------------------------------------------------------
def test_prune_apply_removes_only_archived_threads_older_than_the_cutoff(dirs: ServerDirs) -> None:
    data = dirs.data_dir
    old_plain = write_thread(data, spec(200, 1, archived=True))
    old_zst = compress(write_thread(data, spec(120, 2, archived=True)))
    recent_archived = write_thread(data, spec(10, 3, archived=True))
    old_live = write_thread(data, spec(400, 4))

    result = run_json(dirs, "storage", "prune", "--older-than", "12w", "--apply")

    assert not old_plain.exists()
    assert not old_zst.exists()
    assert recent_archived.exists()
    assert old_live.exists()
    assert result["removed_count"] == 2
    assert not [p for p in data.rglob("*.tmp")]


def test_prune_apply_reports_the_bytes_freed(dirs: ServerDirs) -> None:
    old = write_thread(dirs.data_dir, spec(200, 1, archived=True))
    size = file_size(old)

    done = run_cli(dirs, "storage", "prune", "--older-than", "90d", "--apply")

    assert done.returncode == 0, done.stderr
    assert f"Removed 1 thread, freed 1.5 KiB ({size} bytes)." in done.stdout


async def test_pruned_threads_are_no_longer_listed_as_archived(
    dirs: ServerDirs, servers: Servers
) -> None:
    old = spec(200, 1, archived=True)
    recent = spec(10, 2, archived=True)
    for thread in (old, recent):
        write_thread(dirs.data_dir, thread)

    assert run_cli(dirs, "storage", "prune", "--older-than", "90d", "--apply").returncode == 0

    client = await servers.stdio()
    await client.initialize()
    listed = await client.call("thread/list", {"archived": True})
    assert [t["id"] for t in listed["data"]] == [recent.thread_id]


def test_prune_apply_removes_the_names_of_pruned_threads(dirs: ServerDirs) -> None:
    old = spec(200, 1, archived=True)
    kept = spec(1, 2)
    for thread in (old, kept):
        write_thread(dirs.data_dir, thread)
    names = dirs.data_dir / "session_index.jsonl"
    names.write_text(
        "".join(
            json.dumps({"id": t.thread_id, "thread_name": f"name {t.salt}", "updated_at": STAMP})
            + "\n"
            for t in (old, kept)
        )
    )

    assert run_cli(dirs, "storage", "prune", "--older-than", "90d", "--apply").returncode == 0

    assert old.thread_id not in names.read_text()
    assert kept.thread_id in names.read_text()


def test_prune_removes_old_archived_spawned_threads_with_their_parent(dirs: ServerDirs) -> None:
    parent = spec(200, 1, archived=True)
    child = spec(201, 2, archived=True, parent=parent.thread_id)
    paths = [write_thread(dirs.data_dir, thread) for thread in (parent, child)]

    result = run_json(dirs, "storage", "prune", "--older-than", "90d", "--apply")

    assert not any(path.exists() for path in paths)
    spawned = {t["thread_id"]: t["spawned_by_candidate"] for t in result["removed"]}
    assert spawned == {parent.thread_id: None, child.thread_id: parent.thread_id}


def test_prune_skips_an_archived_thread_whose_spawned_thread_is_live(dirs: ServerDirs) -> None:
    parent = spec(200, 1, archived=True)
    child = spec(201, 2, parent=parent.thread_id)
    paths = [write_thread(dirs.data_dir, thread) for thread in (parent, child)]

    result = run_json(dirs, "storage", "prune", "--older-than", "90d", "--apply")

    assert all(path.exists() for path in paths)
    assert result["removed"] == []
    [skipped] = result["skipped"]
    assert skipped["thread_id"] == parent.thread_id
    assert skipped["reason"] == f"spawned thread {child.thread_id} is live (not archived)"


def test_prune_skips_an_archived_thread_whose_spawned_thread_is_recent(dirs: ServerDirs) -> None:
    parent = spec(200, 1, archived=True)
    child = spec(5, 2, archived=True, parent=parent.thread_id)
    paths = [write_thread(dirs.data_dir, thread) for thread in (parent, child)]

    plan = run_json(dirs, "storage", "prune", "--older-than", "90d")
    result = run_json(dirs, "storage", "prune", "--older-than", "90d", "--apply")

    assert all(path.exists() for path in paths)
    for outcome in (plan, result):
        assert [s["thread_id"] for s in outcome["skipped"]] == [parent.thread_id]
        assert "was modified within the last 90d" in outcome["skipped"][0]["reason"]


def test_prune_skips_a_thread_whose_history_a_kept_fork_builds_on(dirs: ServerDirs) -> None:
    base = spec(200, 1, archived=True)
    fork = spec(1, 2)
    fork.extra_meta = {"history_base": {"thread_id": base.thread_id, "end_ordinal_exclusive": 5}}
    base_path = write_thread(dirs.data_dir, base)
    write_thread(dirs.data_dir, fork)

    result = run_json(dirs, "storage", "prune", "--older-than", "90d", "--apply")

    assert base_path.exists()
    [skipped] = result["skipped"]
    assert skipped["thread_id"] == base.thread_id
    assert "still references it" in skipped["reason"]


def test_prune_skips_a_thread_another_process_is_writing(dirs: ServerDirs) -> None:
    from app_server.store.local.writer_lock import ThreadWriterLock

    old = spec(200, 1, archived=True)
    path = write_thread(dirs.data_dir, old)
    lock = ThreadWriterLock(dirs.data_dir, old.thread_id)
    lock.acquire_blocking()
    try:
        result = run_json(dirs, "storage", "prune", "--older-than", "90d", "--apply")
    finally:
        lock.release_blocking()

    assert path.exists()
    assert [(s["thread_id"], s["reason"]) for s in result["skipped"]] == [
        (old.thread_id, "a server or codex has it open (active writer)")
    ]


def test_prune_apply_with_nothing_old_enough_creates_no_index(dirs: ServerDirs) -> None:
    write_thread(dirs.data_dir, spec(10, 1, archived=True))
    before = snapshot(dirs.data_dir)

    result = run_json(dirs, "storage", "prune", "--older-than", "90d", "--apply")

    assert result["removed"] == []
    assert snapshot(dirs.data_dir) == before


# -- usage errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("duration", ["6m", "90", "0d", "1.5d", "90 d", "1w2d", "d"])
def test_a_bad_duration_exits_2_naming_the_accepted_forms(dirs: ServerDirs, duration: str) -> None:
    write_thread(dirs.data_dir, spec(200, 1, archived=True))
    before = snapshot(dirs.data_dir)

    done = run_cli(dirs, "storage", "prune", "--older-than", duration, "--apply")

    assert done.returncode == 2
    assert f"invalid duration {duration!r}: use <n>h, <n>d or <n>w" in done.stderr
    assert snapshot(dirs.data_dir) == before


def test_prune_without_older_than_exits_2(dirs: ServerDirs) -> None:
    done = run_cli(dirs, "storage", "prune")

    assert done.returncode == 2
    assert "storage prune needs --older-than DURATION" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--apply"], "--apply is only valid with: storage prune"),
        (["storage", "report", "--older-than", "9d"], "--older-than is only valid with"),
        (["storage", "compact"], "unknown storage command: storage compact"),
        (["storage"], "storage needs an action"),
    ],
)
def test_storage_options_out_of_place_exit_2(
    dirs: ServerDirs, args: list[str], message: str
) -> None:
    done = run_cli(dirs, *args)

    assert done.returncode == 2
    assert message in done.stderr


def test_the_leading_app_server_word_is_accepted(dirs: ServerDirs) -> None:
    done = run_cli(dirs, "app-server", "storage", "report", "--json")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["threads"]["total"]["count"] == 0


def test_codex_home_is_the_default_data_dir(dirs: ServerDirs) -> None:
    write_thread(dirs.data_dir, spec(1, 1))

    done = subprocess.run(
        [sys.executable, "-m", "app_server", "storage", "report", "--json"],
        env=server_env(dirs.home, {"CODEX_HOME": str(dirs.data_dir)}),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data_dir"] == str(dirs.data_dir)
