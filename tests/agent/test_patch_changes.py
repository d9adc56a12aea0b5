"""What a patch reports: per-file wire changes, the model's summary, and the turn diff."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app_server.agent.tools.patch import (
    AppliedPatch,
    FileChangeSummary,
    TurnDiffTracker,
    file_change_summaries,
    parse_patch,
    plan_and_apply,
    plan_patch,
    summary_output,
    turn_diff,
    unified_diff_hunks,
)

ZERO = "0" * 40


def blob(text: str) -> str:
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


AFTER = blob("after\n")
A_LOWER_B = blob("a\nb\n")
A_UPPER_B = blob("a\nB\n")
BEFORE = blob("before\n")
EXISTING = blob("existing\n")
FOO_BAR = blob("foo\nbar\n")
FROM = blob("from\n")
LINE = blob("line\n")
LINE2 = blob("line2\n")
NEW = blob("new\n")
X = blob("x\n")


def run(root: Path, body: str) -> AppliedPatch:
    return plan_and_apply(parse_patch(f"*** Begin Patch\n{body}\n*** End Patch"), root, [root])


# --- fileChange summaries -------------------------------------------------------------------------


def test_add_summary_carries_the_full_content(tmp_path: Path) -> None:
    applied = run(tmp_path, "*** Add File: hello.txt\n+hello world")
    assert file_change_summaries(applied) == [
        FileChangeSummary(str(tmp_path / "hello.txt"), "add", None, "hello world\n")
    ]


def test_delete_summary_carries_the_old_content(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("bye\n")
    applied = run(tmp_path, "*** Delete File: old.txt")
    assert file_change_summaries(applied) == [
        FileChangeSummary(str(tmp_path / "old.txt"), "delete", None, "bye\n")
    ]


def test_update_summary_is_a_hunk_body_without_file_headers(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("first line\nsecond line\n")
    plan = plan_patch(
        parse_patch(
            "*** Begin Patch\n*** Update File: notes.txt\n@@\n first line\n-second line\n"
            "+second line, edited\n+third line\n*** End Patch"
        ),
        tmp_path,
        [tmp_path],
    )
    assert file_change_summaries(plan) == [
        FileChangeSummary(
            str(tmp_path / "notes.txt"),
            "update",
            None,
            "@@ -1,2 +1,3 @@\n first line\n-second line\n+second line, edited\n+third line\n",
        )
    ]


def test_update_summary_has_one_line_of_context_like_codex(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("".join(f"{n}\n" for n in range(1, 11)))
    applied = run(tmp_path, "*** Update File: f.txt\n@@\n-2\n+two\n@@\n-9\n+nine")
    assert file_change_summaries(applied)[0].diff == (
        "@@ -1,3 +1,3 @@\n 1\n-2\n+two\n 3\n@@ -8,3 +8,3 @@\n 8\n-9\n+nine\n 10\n"
    )


def test_move_summary_names_the_absolute_destination(tmp_path: Path) -> None:
    (tmp_path / "src.txt").write_text("line\n")
    applied = run(tmp_path, "*** Update File: src.txt\n*** Move to: dst/new.txt\n@@\n-line\n+line2")
    assert file_change_summaries(applied) == [
        FileChangeSummary(
            str(tmp_path / "src.txt"),
            "update",
            str(tmp_path / "dst/new.txt"),
            "@@ -1 +1 @@\n-line\n+line2\n",
        )
    ]


def test_unified_diff_marks_a_missing_final_newline() -> None:
    assert unified_diff_hunks("a\nb", "a\nc\n") == (
        "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n"
    )


def test_unified_diff_of_equal_texts_is_empty() -> None:
    assert unified_diff_hunks("same\n", "same\n") == ""


# --- model summary --------------------------------------------------------------------------------


def test_summary_lists_adds_then_modifications_then_deletes(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("x\n")
    (tmp_path / "notes.txt").write_text("a\n")
    applied = run(
        tmp_path,
        "*** Delete File: old.txt\n*** Update File: notes.txt\n@@\n-a\n+b\n"
        "*** Add File: hello.txt\n+hi",
    )
    assert summary_output(applied) == (
        "Success. Updated the following files:\nA hello.txt\nM notes.txt\nD old.txt\n"
    )


def test_summary_shows_a_move_as_its_destination(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    applied = run(tmp_path, "*** Update File: a.txt\n*** Move to: new/path.txt\n@@\n-a\n+b")
    assert summary_output(applied) == "Success. Updated the following files:\nM new/path.txt\n"


# --- turn diff ------------------------------------------------------------------------------------


def test_turn_diff_of_an_added_file(tmp_path: Path) -> None:
    diff = turn_diff(
        {tmp_path / "a.txt": None}, {tmp_path / "a.txt": "foo\nbar\n"}, display_root=tmp_path
    )
    assert diff == (
        "diff --git a/a.txt b/a.txt\nnew file mode 100644\n"
        f"index {ZERO}..{FOO_BAR}\n--- /dev/null\n+++ b/a.txt\n"
        "@@ -0,0 +1,2 @@\n+foo\n+bar\n"
    )


def test_turn_diff_of_a_modified_file(tmp_path: Path) -> None:
    diff = turn_diff(
        {tmp_path / "m.txt": "a\nb\n"}, {tmp_path / "m.txt": "a\nB\n"}, display_root=tmp_path
    )
    assert diff == (
        f"diff --git a/m.txt b/m.txt\nindex {A_LOWER_B}..{A_UPPER_B}\n"
        "--- a/m.txt\n+++ b/m.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n"
    )


def test_turn_diff_of_a_deleted_file(tmp_path: Path) -> None:
    diff = turn_diff({tmp_path / "b.txt": "x\n"}, {tmp_path / "b.txt": None}, display_root=tmp_path)
    assert diff == (
        "diff --git a/b.txt b/b.txt\ndeleted file mode 100644\n"
        f"index {X}..{ZERO}\n--- a/b.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
    )


def test_turn_diff_sorts_files_and_skips_unchanged_ones(tmp_path: Path) -> None:
    diff = turn_diff(
        {tmp_path / "z.txt": None, tmp_path / "same.txt": "s\n", tmp_path / "a.txt": None},
        {tmp_path / "z.txt": "z\n", tmp_path / "same.txt": "s\n", tmp_path / "a.txt": "a\n"},
        display_root=tmp_path,
    )
    assert [line for line in diff.splitlines() if line.startswith("diff --git")] == [
        "diff --git a/a.txt b/a.txt",
        "diff --git a/z.txt b/z.txt",
    ]


def test_turn_diff_uses_three_lines_of_context(tmp_path: Path) -> None:
    before = "".join(f"{n}\n" for n in range(1, 11))
    after = before.replace("5\n", "five\n")
    diff = turn_diff({tmp_path / "f": before}, {tmp_path / "f": after}, display_root=tmp_path)
    assert diff.endswith("@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n")


def test_turn_diff_keeps_paths_outside_the_display_root_absolute(tmp_path: Path) -> None:
    other = tmp_path.parent / "elsewhere.txt"
    diff = turn_diff({other: None}, {other: "x\n"}, display_root=tmp_path)
    assert diff.startswith(f"diff --git a/{other.as_posix()} b/{other.as_posix()}\n")


def test_turn_diff_of_nothing_is_empty() -> None:
    assert turn_diff({}, {}) == ""


# --- turn diff tracker (codex's TurnDiffTracker cases) --------------------------------------------


@pytest.fixture
def tracker(tmp_path: Path) -> TurnDiffTracker:
    return TurnDiffTracker(display_root=tmp_path)


def test_tracker_folds_add_then_update_into_one_add(
    tmp_path: Path, tracker: TurnDiffTracker
) -> None:
    tracker.track(run(tmp_path, "*** Add File: a.txt\n+foo"))
    tracker.track(run(tmp_path, "*** Update File: a.txt\n@@\n foo\n+bar"))
    assert tracker.unified_diff() == (
        "diff --git a/a.txt b/a.txt\nnew file mode 100644\n"
        f"index {ZERO}..{FOO_BAR}\n--- /dev/null\n+++ b/a.txt\n"
        "@@ -0,0 +1,2 @@\n+foo\n+bar\n"
    )


def test_tracker_shows_a_delete(tmp_path: Path, tracker: TurnDiffTracker) -> None:
    (tmp_path / "b.txt").write_text("x\n")
    tracker.track(run(tmp_path, "*** Delete File: b.txt"))
    assert tracker.unified_diff() == (
        "diff --git a/b.txt b/b.txt\ndeleted file mode 100644\n"
        f"index {X}..{ZERO}\n--- a/b.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
    )


def test_tracker_shows_a_move_with_edit_as_one_diff(
    tmp_path: Path, tracker: TurnDiffTracker
) -> None:
    (tmp_path / "src.txt").write_text("line\n")
    tracker.track(
        run(tmp_path, "*** Update File: src.txt\n*** Move to: dst.txt\n@@\n-line\n+line2")
    )
    assert tracker.unified_diff() == (
        f"diff --git a/src.txt b/dst.txt\nindex {LINE}..{LINE2}\n"
        "--- a/src.txt\n+++ b/dst.txt\n@@ -1 +1 @@\n-line\n+line2\n"
    )


def test_tracker_shows_nothing_for_a_pure_rename(tmp_path: Path, tracker: TurnDiffTracker) -> None:
    (tmp_path / "old.txt").write_text("same\n")
    tracker.track(run(tmp_path, "*** Update File: old.txt\n*** Move to: new.txt\n@@\n same"))
    assert tracker.unified_diff() is None


def test_tracker_shows_add_over_existing_as_update(
    tmp_path: Path, tracker: TurnDiffTracker
) -> None:
    (tmp_path / "dup.txt").write_text("before\n")
    tracker.track(run(tmp_path, "*** Add File: dup.txt\n+after"))
    assert tracker.unified_diff() == (
        f"diff --git a/dup.txt b/dup.txt\nindex {BEFORE}..{AFTER}\n"
        "--- a/dup.txt\n+++ b/dup.txt\n@@ -1 +1 @@\n-before\n+after\n"
    )


def test_tracker_compares_against_the_content_before_the_first_touch(
    tmp_path: Path, tracker: TurnDiffTracker
) -> None:
    (tmp_path / "cycle.txt").write_text("before\n")
    tracker.track(run(tmp_path, "*** Delete File: cycle.txt"))
    tracker.track(run(tmp_path, "*** Add File: cycle.txt\n+after"))
    assert tracker.unified_diff() == (
        f"diff --git a/cycle.txt b/cycle.txt\nindex {BEFORE}..{AFTER}\n"
        "--- a/cycle.txt\n+++ b/cycle.txt\n@@ -1 +1 @@\n-before\n+after\n"
    )


def test_tracker_shows_a_move_over_an_existing_file_as_delete_and_update(
    tmp_path: Path, tracker: TurnDiffTracker
) -> None:
    (tmp_path / "a.txt").write_text("from\n")
    (tmp_path / "b.txt").write_text("existing\n")
    tracker.track(run(tmp_path, "*** Update File: a.txt\n*** Move to: b.txt\n@@\n-from\n+new"))
    assert tracker.unified_diff() == (
        "diff --git a/a.txt b/a.txt\ndeleted file mode 100644\n"
        f"index {FROM}..{ZERO}\n--- a/a.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-from\n"
        f"diff --git a/b.txt b/b.txt\nindex {EXISTING}..{NEW}\n"
        "--- a/b.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-existing\n+new\n"
    )
