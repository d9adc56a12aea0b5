"""Planning and applying patches against real files: matching, paths, atomicity, permissions."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app_server.agent.tools.patch import (
    AppliedPatch,
    PatchApplyError,
    PatchPathError,
    apply_plan,
    parse_patch,
    plan_and_apply,
    plan_patch,
)
from app_server.agent.tools.patch.transaction import BACKUP_SUFFIX, TEMP_SUFFIX


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """The workspace: cwd and only writable root; `tmp_path/outside` is outside it."""
    root = tmp_path / "ws"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    return root


def wrap(body: str) -> str:
    return f"*** Begin Patch\n{body}\n*** End Patch"


def run(ws: Path, body: str) -> AppliedPatch:
    return plan_and_apply(parse_patch(wrap(body)), ws, [ws])


def snapshot(root: Path) -> dict[str, object]:
    """Every entry below `root`: file bytes + mode, directory, or symlink target."""
    tree: dict[str, object] = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory, name)
            key = str(path.relative_to(root))
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                tree[key] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                tree[key] = "dir"
            else:
                tree[key] = (path.read_bytes(), stat.S_IMODE(info.st_mode))
    return tree


# --- add / update / delete / move -----------------------------------------------------------------


def test_add_file_creates_it_with_parent_directories(ws: Path) -> None:
    run(ws, "*** Add File: a/b/new.txt\n+one\n+two")
    assert (ws / "a/b/new.txt").read_text() == "one\ntwo\n"


def test_add_file_overwrites_an_existing_file_like_codex(ws: Path) -> None:
    (ws / "dup.txt").write_text("before\n")
    applied = run(ws, "*** Add File: dup.txt\n+after")
    assert (ws / "dup.txt").read_text() == "after\n"
    assert applied.changes[0].old_content == "before\n"


def test_add_file_onto_a_directory_is_refused(ws: Path) -> None:
    (ws / "d").mkdir()
    with pytest.raises(PatchApplyError, match="Is a directory"):
        run(ws, "*** Add File: d\n+x")


def test_update_replaces_the_matched_lines(ws: Path) -> None:
    (ws / "f.txt").write_text("foo\nbar\nbaz\n")
    run(ws, "*** Update File: f.txt\n@@\n foo\n-bar\n+BAR")
    assert (ws / "f.txt").read_text() == "foo\nBAR\nbaz\n"


def test_update_matches_ignoring_trailing_whitespace(ws: Path) -> None:
    (ws / "f.txt").write_text("foo   \nbar\t\n")
    run(ws, "*** Update File: f.txt\n@@\n foo\n-bar\n+BAR")
    # Like codex, the matched context lines are rewritten as the patch spells them.
    assert (ws / "f.txt").read_text() == "foo\nBAR\n"


def test_update_matches_ignoring_surrounding_whitespace(ws: Path) -> None:
    (ws / "f.py").write_text("def f():\n        return 1\n")
    run(ws, "*** Update File: f.py\n@@\n def f():\n-    return 1\n+    return 2")
    assert (ws / "f.py").read_text() == "def f():\n    return 2\n"


def test_update_matches_typographic_punctuation_written_as_ascii(ws: Path) -> None:
    (ws / "u.py").write_text("x = 1  # top\u2011level \u2013 dep\n")
    run(ws, "*** Update File: u.py\n@@\n-x = 1  # top-level - dep\n+x = 2")
    assert (ws / "u.py").read_text() == "x = 2\n"


def test_exact_match_wins_over_a_lenient_earlier_one(ws: Path) -> None:
    (ws / "f.txt").write_text("  a\nb\na\nb\n")
    run(ws, "*** Update File: f.txt\n@@\n a\n-b\n+B")
    assert (ws / "f.txt").read_text() == "  a\nb\na\nB\n"


def test_context_header_narrows_the_search(ws: Path) -> None:
    (ws / "f.py").write_text("def one():\n    return 0\n\ndef two():\n    return 0\n")
    run(ws, "*** Update File: f.py\n@@ def two():\n-    return 0\n+    return 2")
    assert (ws / "f.py").read_text() == "def one():\n    return 0\n\ndef two():\n    return 2\n"


def test_end_of_file_chunk_is_anchored_at_the_end(ws: Path) -> None:
    (ws / "f.txt").write_text("x\nend\nx\nend\n")
    run(ws, "*** Update File: f.txt\n@@\n x\n-end\n+END\n*** End of File")
    assert (ws / "f.txt").read_text() == "x\nend\nx\nEND\n"


def test_several_chunks_apply_in_order(ws: Path) -> None:
    (ws / "f.txt").write_text("a\nb\nc\nd\ne\nf\n")
    run(ws, "*** Update File: f.txt\n@@\n a\n-b\n+B\n@@\n d\n-e\n+E\n@@\n f\n+g\n*** End of File")
    assert (ws / "f.txt").read_text() == "a\nB\nc\nd\nE\nf\ng\n"


def test_pure_addition_is_appended_at_the_end_like_codex(ws: Path) -> None:
    (ws / "f.txt").write_text("line1\nline2\n")
    run(ws, "*** Update File: f.txt\n@@\n+line3")
    assert (ws / "f.txt").read_text() == "line1\nline2\nline3\n"


def test_update_adds_a_missing_final_newline(ws: Path) -> None:
    (ws / "f.txt").write_text("a\nb")
    run(ws, "*** Update File: f.txt\n@@\n-b\n+c")
    assert (ws / "f.txt").read_text() == "a\nc\n"


def test_update_keeps_crlf_line_endings(ws: Path) -> None:
    (ws / "f.txt").write_bytes(b"a\r\nb\r\nc\r\n")
    run(ws, "*** Update File: f.txt\n@@\n a\n-b\n+B\n+b2")
    assert (ws / "f.txt").read_bytes() == b"a\r\nB\r\nb2\r\nc\r\n"


def test_unmatched_lines_fail_with_codex_message(ws: Path) -> None:
    (ws / "f.txt").write_text("foo\n")
    with pytest.raises(PatchApplyError) as raised:
        run(ws, "*** Update File: f.txt\n@@\n-nope\n-still nope\n+x")
    assert str(raised.value) == (
        f"Failed to find expected lines in {ws / 'f.txt'}:\nnope\nstill nope"
    )


def test_missing_context_header_fails_with_codex_message(ws: Path) -> None:
    (ws / "f.txt").write_text("foo\n")
    with pytest.raises(PatchApplyError) as raised:
        run(ws, "*** Update File: f.txt\n@@ class Missing\n-foo\n+bar")
    assert str(raised.value) == f"Failed to find context 'class Missing' in {ws / 'f.txt'}"


def test_update_of_a_missing_file_fails(ws: Path) -> None:
    with pytest.raises(PatchApplyError) as raised:
        run(ws, "*** Update File: nope.txt\n@@\n-a\n+b")
    assert str(raised.value) == (
        f"Failed to read file to update {ws / 'nope.txt'}: No such file or directory"
    )


def test_update_of_a_file_that_is_not_utf8_fails(ws: Path) -> None:
    (ws / "bin.dat").write_bytes(b"\xff\xfe\x00a\n")
    with pytest.raises(PatchApplyError, match="did not contain valid UTF-8"):
        run(ws, "*** Update File: bin.dat\n@@\n-a\n+b")


def test_delete_removes_the_file(ws: Path) -> None:
    (ws / "gone.txt").write_text("x\n")
    applied = run(ws, "*** Delete File: gone.txt")
    assert not (ws / "gone.txt").exists()
    assert applied.changes[0].old_content == "x\n"


def test_delete_of_a_missing_file_fails(ws: Path) -> None:
    with pytest.raises(PatchApplyError) as raised:
        run(ws, "*** Delete File: nope.txt")
    assert str(raised.value) == (
        f"Failed to delete file {ws / 'nope.txt'}: No such file or directory"
    )


def test_update_with_move_writes_the_destination_and_removes_the_source(ws: Path) -> None:
    (ws / "src.txt").write_text("line\n")
    run(ws, "*** Update File: src.txt\n*** Move to: dir/dst.txt\n@@\n-line\n+line2")
    assert not (ws / "src.txt").exists()
    assert (ws / "dir/dst.txt").read_text() == "line2\n"


def test_move_keeps_the_source_mode(ws: Path) -> None:
    (ws / "run.sh").write_text("echo hi\n")
    (ws / "run.sh").chmod(0o755)
    run(ws, "*** Update File: run.sh\n*** Move to: bin/run.sh\n@@\n-echo hi\n+echo ho")
    assert stat.S_IMODE((ws / "bin/run.sh").stat().st_mode) == 0o755


def test_move_onto_the_same_file_updates_it_in_place(ws: Path) -> None:
    (ws / "same.txt").write_text("a\n")
    run(ws, "*** Update File: same.txt\n*** Move to: ./same.txt\n@@\n-a\n+b")
    assert (ws / "same.txt").read_text() == "b\n"


def test_several_files_in_one_patch(ws: Path) -> None:
    (ws / "mod.txt").write_text("old\n")
    (ws / "del.txt").write_text("bye\n")
    run(
        ws,
        "*** Add File: new.txt\n+new\n*** Update File: mod.txt\n@@\n-old\n+new\n"
        "*** Delete File: del.txt",
    )
    assert snapshot(ws) == {
        "new.txt": (b"new\n", 0o644 & ~current_umask()),
        "mod.txt": (b"new\n", stat.S_IMODE((ws / "mod.txt").stat().st_mode)),
    }


def test_a_later_hunk_sees_what_an_earlier_hunk_wrote(ws: Path) -> None:
    run(ws, "*** Add File: a.txt\n+foo\n*** Update File: a.txt\n@@\n foo\n+bar")
    assert (ws / "a.txt").read_text() == "foo\nbar\n"


def test_patch_without_hunks_fails(ws: Path) -> None:
    with pytest.raises(PatchApplyError, match=r"^No files were modified\.$"):
        plan_patch(parse_patch("*** Begin Patch\n*** End Patch"), ws, [ws])


# --- nothing changes on failure -------------------------------------------------------------------


def test_a_chunk_that_does_not_apply_changes_nothing_on_disk(ws: Path) -> None:
    (ws / "keep.txt").write_text("keep\n")
    (ws / "f.txt").write_text("foo\n")
    before = snapshot(ws)
    with pytest.raises(PatchApplyError):
        run(
            ws,
            "*** Add File: new/a.txt\n+a\n*** Update File: keep.txt\n@@\n-keep\n+changed\n"
            "*** Delete File: f.txt\n*** Update File: f.txt\n@@\n-missing\n+x",
        )
    assert snapshot(ws) == before


def test_planning_writes_nothing(ws: Path) -> None:
    (ws / "f.txt").write_text("foo\n")
    before = snapshot(ws)
    plan = plan_patch(
        parse_patch(wrap("*** Add File: n/new.txt\n+x\n*** Update File: f.txt\n@@\n-foo\n+bar")),
        ws,
        [ws],
    )
    assert snapshot(ws) == before
    assert [change.new_content for change in plan.changes] == ["x\n", "bar\n"]


def test_a_failing_second_write_rolls_back_the_first(ws: Path) -> None:
    (ws / "one.txt").write_text("one\n")
    (ws / "blocker").mkdir()
    plan = plan_patch(
        parse_patch(
            wrap(
                "*** Update File: one.txt\n@@\n-one\n+ONE\n*** Add File: blocker/two.txt\n+two\n"
                "*** Add File: three.txt\n+three"
            )
        ),
        ws,
        [ws],
    )
    # After planning, the second target's parent becomes a regular file: its write must fail.
    (ws / "blocker").rmdir()
    (ws / "blocker").write_text("a file, not a directory\n")
    before = snapshot(ws)
    with pytest.raises(PatchApplyError, match=r"blocker/two\.txt"):
        apply_plan(plan)
    assert snapshot(ws) == before


def _fail_on_call(
    monkeypatch: pytest.MonkeyPatch, name: str, call_number: int, applies: Callable[[str], bool]
) -> None:
    """Make `os.<name>` raise on its `call_number`-th call whose source `applies`."""
    real = getattr(os, name)
    calls = 0

    def fake(source: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        if applies(str(source)):
            calls += 1
            if calls == call_number:
                raise OSError(5, "Input/output error")
        return real(source, *args, **kwargs)

    monkeypatch.setattr(os, name, fake)


def test_a_failing_rename_restores_the_files_already_replaced(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        (ws / name).write_text(f"{name}\n")
    before = snapshot(ws)
    plan = plan_patch(
        parse_patch(
            wrap(
                "*** Update File: a.txt\n@@\n-a.txt\n+A\n*** Update File: b.txt\n@@\n-b.txt\n+B\n"
                "*** Add File: c.txt\n+C\n*** Add File: d.txt\n+D"
            )
        ),
        ws,
        [ws],
    )
    _fail_on_call(monkeypatch, "replace", 2, lambda source: source.endswith(TEMP_SUFFIX))
    with pytest.raises(PatchApplyError, match="Input/output error"):
        apply_plan(plan)
    assert snapshot(ws) == before


def test_a_failing_delete_restores_everything(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("keep.txt", "x.txt", "y.txt"):
        (ws / name).write_text(f"{name}\n")
    before = snapshot(ws)
    plan = plan_patch(
        parse_patch(
            wrap(
                "*** Add File: new.txt\n+n\n*** Update File: keep.txt\n@@\n-keep.txt\n+K\n"
                "*** Delete File: x.txt\n*** Delete File: y.txt"
            )
        ),
        ws,
        [ws],
    )
    _fail_on_call(monkeypatch, "rename", 2, lambda source: not source.endswith(BACKUP_SUFFIX))
    with pytest.raises(PatchApplyError, match=r"Failed to delete file .*y\.txt"):
        apply_plan(plan)
    assert snapshot(ws) == before


def test_no_temp_or_backup_files_remain_after_success(ws: Path) -> None:
    (ws / "a.txt").write_text("a\n")
    (ws / "b.txt").write_text("b\n")
    run(ws, "*** Update File: a.txt\n@@\n-a\n+A\n*** Delete File: b.txt\n*** Add File: c.txt\n+c")
    assert sorted(p.name for p in ws.iterdir()) == ["a.txt", "c.txt"]


def test_apply_refuses_a_file_changed_after_planning(ws: Path) -> None:
    (ws / "f.txt").write_text("foo\n")
    plan = plan_patch(parse_patch(wrap("*** Update File: f.txt\n@@\n-foo\n+bar")), ws, [ws])
    (ws / "f.txt").write_text("someone else\n")
    with pytest.raises(PatchApplyError, match="changed on disk"):
        apply_plan(plan)
    assert (ws / "f.txt").read_text() == "someone else\n"


def test_apply_refuses_a_symlink_swapped_in_after_planning(ws: Path) -> None:
    outside = ws.parent / "outside"
    (ws / "sub").mkdir()
    plan = plan_patch(parse_patch(wrap("*** Add File: sub/f.txt\n+x")), ws, [ws])
    (ws / "sub").rmdir()
    (ws / "sub").symlink_to(outside)
    with pytest.raises(PatchPathError):
        apply_plan(plan)
    assert list(outside.iterdir()) == []


# --- paths stay inside the writable roots ---------------------------------------------------------


def test_dotdot_escape_is_refused(ws: Path) -> None:
    with pytest.raises(PatchPathError) as raised:
        run(ws, "*** Add File: ../outside/evil.txt\n+x")
    assert raised.value.path == "../outside/evil.txt"
    assert "outside the writable roots" in str(raised.value)
    assert not (ws.parent / "outside/evil.txt").exists()


def test_dotdot_that_stays_inside_is_allowed(ws: Path) -> None:
    (ws / "sub").mkdir()
    run(ws, "*** Add File: sub/../inside.txt\n+x")
    assert (ws / "inside.txt").read_text() == "x\n"


def test_absolute_path_outside_the_roots_is_refused(ws: Path) -> None:
    target = ws.parent / "outside" / "abs.txt"
    with pytest.raises(PatchPathError) as raised:
        run(ws, f"*** Add File: {target}\n+x")
    assert raised.value.path == str(target)
    assert not target.exists()


def test_absolute_path_inside_the_roots_is_allowed(ws: Path) -> None:
    run(ws, f"*** Add File: {ws / 'abs.txt'}\n+x")
    assert (ws / "abs.txt").read_text() == "x\n"


def test_path_in_a_second_writable_root_is_allowed(ws: Path) -> None:
    other = ws.parent / "outside"
    plan_and_apply(parse_patch(wrap(f"*** Add File: {other / 'o.txt'}\n+o")), ws, [ws, other])
    assert (other / "o.txt").read_text() == "o\n"


def test_symlinked_directory_pointing_outside_is_refused(ws: Path) -> None:
    (ws / "escape").symlink_to(ws.parent / "outside")
    with pytest.raises(PatchPathError) as raised:
        run(ws, "*** Add File: escape/evil.txt\n+x")
    assert raised.value.path == "escape/evil.txt"
    assert list((ws.parent / "outside").iterdir()) == []


def test_symlinked_file_pointing_outside_is_refused(ws: Path) -> None:
    secret = ws.parent / "outside" / "secret.txt"
    secret.write_text("secret\n")
    (ws / "link.txt").symlink_to(secret)
    for body in (
        "*** Update File: link.txt\n@@\n-secret\n+owned",
        "*** Add File: link.txt\n+owned",
        "*** Delete File: link.txt",
    ):
        with pytest.raises(PatchPathError):
            run(ws, body)
    assert secret.read_text() == "secret\n"
    assert (ws / "link.txt").is_symlink()


def test_move_destination_outside_the_roots_is_refused(ws: Path) -> None:
    (ws / "f.txt").write_text("a\n")
    with pytest.raises(PatchPathError):
        run(ws, "*** Update File: f.txt\n*** Move to: ../outside/f.txt\n@@\n-a\n+b")
    assert (ws / "f.txt").read_text() == "a\n"


def test_symlinked_file_inside_the_roots_is_written_through(ws: Path) -> None:
    (ws / "target.txt").write_text("a\n")
    (ws / "link.txt").symlink_to("target.txt")
    run(ws, "*** Update File: link.txt\n@@\n-a\n+b")
    assert (ws / "link.txt").is_symlink()
    assert (ws / "target.txt").read_text() == "b\n"


def test_deleting_a_symlink_removes_only_the_link(ws: Path) -> None:
    (ws / "target.txt").write_text("a\n")
    (ws / "link.txt").symlink_to("target.txt")
    run(ws, "*** Delete File: link.txt")
    assert not (ws / "link.txt").is_symlink()
    assert (ws / "target.txt").read_text() == "a\n"


# --- permissions ----------------------------------------------------------------------------------


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("mode", [0o755, 0o600, 0o640])
def test_update_keeps_the_file_mode(ws: Path, mode: int) -> None:
    (ws / "f.sh").write_text("a\n")
    (ws / "f.sh").chmod(mode)
    run(ws, "*** Update File: f.sh\n@@\n-a\n+b")
    assert stat.S_IMODE((ws / "f.sh").stat().st_mode) == mode


def test_new_file_gets_0644_minus_umask(ws: Path) -> None:
    previous = os.umask(0o027)
    try:
        run(ws, "*** Add File: new.txt\n+x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((ws / "new.txt").stat().st_mode) == 0o640
