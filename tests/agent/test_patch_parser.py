"""`apply_patch` parsing: codex's format, leniencies and error messages; heredoc commands."""

from __future__ import annotations

import pytest

from app_server.agent.tools.patch import (
    AddFile,
    DeleteFile,
    PatchParseError,
    UpdateFile,
    UpdateFileChunk,
    extract_heredoc_patch,
    parse_patch,
)


def wrap(body: str) -> str:
    return f"*** Begin Patch\n{body}\n*** End Patch"


def test_add_file_content_is_each_plus_line_with_a_newline() -> None:
    patch = parse_patch(wrap("*** Add File: path/new.txt\n+line one\n+line two"))
    assert patch.hunks == (AddFile(path="path/new.txt", content="line one\nline two\n"),)


def test_add_file_keeps_trailing_whitespace_of_its_lines() -> None:
    patch = parse_patch(wrap("*** Add File: a.txt\n+x  \n+"))
    assert patch.hunks == (AddFile(path="a.txt", content="x  \n\n"),)


def test_delete_file_has_only_a_path() -> None:
    assert parse_patch(wrap("*** Delete File: gone.txt")).hunks == (DeleteFile(path="gone.txt"),)


def test_update_with_move_to_and_context_header() -> None:
    patch = parse_patch(
        wrap(
            "*** Update File: path/update.py\n*** Move to: path/update2.py\n"
            "@@ def f():\n-    pass\n+    return 123"
        )
    )
    assert patch.hunks == (
        UpdateFile(
            path="path/update.py",
            move_to="path/update2.py",
            chunks=(
                UpdateFileChunk(
                    change_context="def f():",
                    old_lines=("    pass",),
                    new_lines=("    return 123",),
                ),
            ),
        ),
    )


def test_update_with_several_chunks_keeps_each_context_header() -> None:
    patch = parse_patch(
        wrap(
            "*** Update File: src/config.rs\n@@ impl Config\n-    a: bool,\n+    b: bool,\n"
            "     c: bool,\n@@ fn default()\n-    500\n+    250\n@@\n x\n+y"
        )
    )
    (hunk,) = patch.hunks
    assert isinstance(hunk, UpdateFile)
    assert hunk.chunks == (
        UpdateFileChunk(
            "impl Config", ("    a: bool,", "    c: bool,"), ("    b: bool,", "    c: bool,")
        ),
        UpdateFileChunk("fn default()", ("    500",), ("    250",)),
        UpdateFileChunk(None, ("x",), ("x", "y")),
    )


def test_first_chunk_may_omit_the_context_marker() -> None:
    patch = parse_patch(wrap("*** Update File: file2.py\n import foo\n+bar"))
    assert patch.hunks == (
        UpdateFile(
            "file2.py", None, (UpdateFileChunk(None, ("import foo",), ("import foo", "bar")),)
        ),
    )


def test_end_of_file_marker_flags_the_chunk() -> None:
    patch = parse_patch(wrap("*** Update File: a.txt\n@@\n f\n+g\n*** End of File"))
    (hunk,) = patch.hunks
    assert isinstance(hunk, UpdateFile)
    assert hunk.chunks == (UpdateFileChunk(None, ("f",), ("f", "g"), is_end_of_file=True),)


def test_empty_line_inside_a_chunk_is_an_empty_context_line() -> None:
    patch = parse_patch(wrap("*** Update File: a.txt\n@@\n a\n\n-b\n+c"))
    (hunk,) = patch.hunks
    assert isinstance(hunk, UpdateFile)
    assert hunk.chunks[0].old_lines == ("a", "", "b")
    assert hunk.chunks[0].new_lines == ("a", "", "c")


def test_hunks_are_kept_in_patch_order() -> None:
    patch = parse_patch(
        wrap(
            "*** Add File: a.txt\n+a\n*** Delete File: b.txt\n"
            "*** Update File: c.txt\n@@\n+line\n*** Add File: d.txt\n+d"
        )
    )
    assert [type(hunk).__name__ for hunk in patch.hunks] == [
        "AddFile",
        "DeleteFile",
        "UpdateFile",
        "AddFile",
    ]
    assert patch.hunks[2] == UpdateFile("c.txt", None, (UpdateFileChunk(None, (), ("line",)),))


def test_crlf_line_endings_are_accepted() -> None:
    text = "*** Begin Patch\r\n*** Update File: a.txt\r\n@@\r\n-old\r\n+new\r\n*** End Patch\r\n"
    assert parse_patch(text).hunks == (
        UpdateFile("a.txt", None, (UpdateFileChunk(None, ("old",), ("new",)),)),
    )


def test_surrounding_blank_lines_marker_whitespace_and_missing_final_newline_are_tolerated() -> (
    None
):
    text = "\n\n  *** Begin Patch  \n*** Add File: a.txt   \n+hi\n  *** End Patch \t"
    assert parse_patch(text).hunks == (AddFile("a.txt", "hi\n"),)


def test_blank_lines_between_hunks_are_skipped() -> None:
    patch = parse_patch(wrap("*** Add File: a.txt\n+a\n\n*** Delete File: b.txt"))
    assert patch.hunks == (AddFile("a.txt", "a\n"), DeleteFile("b.txt"))


def test_bare_heredoc_wrapper_is_unwrapped() -> None:
    text = "<<'EOF'\n*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\nEOF\n"
    patch = parse_patch(text)
    assert patch.hunks == (AddFile("a.txt", "hi\n"),)
    assert patch.text == "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch"


def test_patch_without_hunks_parses_to_nothing() -> None:
    assert parse_patch("*** Begin Patch\n*** End Patch").hunks == ()


def test_bad_first_line_is_reported_like_codex() -> None:
    with pytest.raises(PatchParseError) as raised:
        parse_patch("bad")
    assert str(raised.value) == (
        "invalid patch: The first line of the patch must be '*** Begin Patch'"
    )


def test_missing_end_marker_is_reported_like_codex() -> None:
    with pytest.raises(PatchParseError) as raised:
        parse_patch("*** Begin Patch\n*** Add File: a.txt\n+hi")
    assert str(raised.value) == "invalid patch: The last line of the patch must be '*** End Patch'"


def test_invalid_hunk_header_names_its_line() -> None:
    with pytest.raises(PatchParseError) as raised:
        parse_patch(wrap("*** Add File: a.txt\n+a\n*** Frobnicate File: b.txt"))
    assert str(raised.value) == (
        "invalid hunk at line 4, '*** Frobnicate File: b.txt' is not a valid hunk header. "
        "Valid hunk headers: '*** Add File: {path}', '*** Delete File: {path}', "
        "'*** Update File: {path}'"
    )


def test_empty_update_hunk_is_reported() -> None:
    with pytest.raises(PatchParseError) as raised:
        parse_patch(wrap("*** Update File: test.py"))
    assert (
        str(raised.value) == "invalid hunk at line 2, Update file hunk for path 'test.py' is empty"
    )


def test_unexpected_line_in_update_hunk_is_reported() -> None:
    with pytest.raises(PatchParseError) as raised:
        parse_patch(wrap("*** Update File: a.py\n@@\nbad line"))
    assert str(raised.value) == (
        "invalid hunk at line 4, Unexpected line found in update hunk: 'bad line'. Every line "
        "should start with ' ' (context line), '+' (added line), or '-' (removed line)"
    )


def test_second_chunk_without_context_marker_is_reported() -> None:
    with pytest.raises(PatchParseError) as raised:
        parse_patch(wrap("*** Update File: a.py\n@@\n-a\n+b\n*** End of File\nstray"))
    assert str(raised.value) == (
        "invalid hunk at line 7, Expected update hunk to start with a @@ context marker, "
        "got: 'stray'"
    )


def test_context_marker_without_lines_is_reported() -> None:
    with pytest.raises(PatchParseError) as raised:
        parse_patch(wrap("*** Update File: a.py\n@@\n*** End of File"))
    assert str(raised.value) == "invalid hunk at line 4, Update hunk does not contain any lines"


PATCH_BODY = "*** Begin Patch\n*** Add File: foo\n+hi\n*** End Patch"


@pytest.mark.parametrize("opener", ["<<'EOF'", '<<"EOF"', "<<EOF", " <<'EOF'"])
def test_heredoc_command_yields_the_patch(opener: str) -> None:
    command = f"apply_patch {opener}\n{PATCH_BODY}\nEOF\n"
    assert extract_heredoc_patch(command) == (None, PATCH_BODY)


def test_heredoc_command_may_start_with_blank_lines() -> None:
    command = f"\n  apply_patch <<'EOF'\r\n{PATCH_BODY}\nEOF\r\n"
    assert extract_heredoc_patch(command) == (None, PATCH_BODY)


def test_heredoc_command_accepts_any_delimiter_and_the_applypatch_alias() -> None:
    command = f"applypatch <<'PATCH'\n{PATCH_BODY}\nPATCH"
    assert extract_heredoc_patch(command) == (None, PATCH_BODY)


def test_heredoc_command_with_leading_cd_yields_the_workdir() -> None:
    command = f"cd sub/dir && apply_patch <<'EOF'\n{PATCH_BODY}\nEOF"
    assert extract_heredoc_patch(command) == ("sub/dir", PATCH_BODY)


@pytest.mark.parametrize("quoted", ["'foo bar'", '"foo bar"'])
def test_heredoc_command_with_quoted_cd_path_unquotes_it(quoted: str) -> None:
    command = f"cd {quoted} && apply_patch <<EOF\n{PATCH_BODY}\nEOF"
    assert extract_heredoc_patch(command) == ("foo bar", PATCH_BODY)


def test_heredoc_body_parses_as_the_patch() -> None:
    result = extract_heredoc_patch(f"apply_patch <<'EOF'\n{PATCH_BODY}\nEOF\n")
    assert result is not None
    assert parse_patch(result[1]).hunks == (AddFile("foo", "hi\n"),)


def test_heredoc_without_closing_delimiter_ends_at_the_end_of_the_command() -> None:
    assert extract_heredoc_patch(f"apply_patch <<'EOF'\n{PATCH_BODY}\n") == (None, PATCH_BODY)


def test_patch_as_single_quoted_argument_is_recognised() -> None:
    assert extract_heredoc_patch(f"apply_patch '{PATCH_BODY}'") == (None, PATCH_BODY)


@pytest.mark.parametrize(
    "command",
    [
        "ls -la",
        f"echo foo && apply_patch <<'EOF'\n{PATCH_BODY}\nEOF",
        f"cd foo; apply_patch <<'EOF'\n{PATCH_BODY}\nEOF",
        f"cd foo || apply_patch <<'EOF'\n{PATCH_BODY}\nEOF",
        f"cd foo bar && apply_patch <<'EOF'\n{PATCH_BODY}\nEOF",
        f"apply_patch foo <<'EOF'\n{PATCH_BODY}\nEOF",
        f"cd bar && apply_patch <<'EOF'\n{PATCH_BODY}\nEOF && echo done",
        f"apply_patch <<'EOF'\n{PATCH_BODY}\nEOF\necho done",
    ],
)
def test_other_shell_commands_are_not_patches(command: str) -> None:
    assert extract_heredoc_patch(command) is None
