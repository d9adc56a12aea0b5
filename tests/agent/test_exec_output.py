"""The text the model gets from `exec_command` / `write_stdin`, and codex's `parsed_cmd`.

Format and token counts are checked against what codex 0.169 wrote in the recorded fixture
(`/work/shared/fixtures/codex-0.169.0`: `Original token count: 6` for `hello-from-shell\\nLinux\\n`)
and the spec example (AGENT_LOOP.md §5); truncation and `parsed_cmd` against the cases codex's
own tests pin down.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app_server.agent.tools.exec.background_terminals import BackgroundTerminals
from app_server.agent.tools.exec.output import (
    format_exec_output,
    format_exec_response,
    formatted_truncate_text,
    truncate_middle,
)
from app_server.agent.tools.exec.parse_command import parse_command_actions, to_command_actions
from app_server.agent.tools.exec.process import shell_argv
from app_server.agent.tools.exec.terminal_results import ExecChunk

EXITED = re.compile(
    r"Chunk ID: [0-9a-f]{6}\nWall time: \d+\.\d{4} seconds\nProcess exited with code 0\n"
    r"Original token count: 2\nOutput:\ntouched\n"
)


def chunk(output: bytes, exit_code: int | None = 0, session_id: int | None = None) -> ExecChunk:
    return ExecChunk(output, exit_code, session_id, 0.0, (len(output) + 3) // 4)


def test_exited_command_output_matches_codex_format() -> None:
    text = format_exec_output(chunk(b"touched\n"))
    assert EXITED.fullmatch(text), text
    assert "\nWall time: 0.0000 seconds\n" in text


def test_chunk_id_can_be_given() -> None:
    text = format_exec_output(chunk(b"touched\n"), chunk_id="706221")
    assert text == (
        "Chunk ID: 706221\nWall time: 0.0000 seconds\nProcess exited with code 0\n"
        "Original token count: 2\nOutput:\ntouched\n"
    )


def test_running_command_names_its_session_instead_of_an_exit_code() -> None:
    text = format_exec_output(ExecChunk(b"partial\n", None, 1003, 10.00012, 2), chunk_id="abcdef")
    assert text == (
        "Chunk ID: abcdef\nWall time: 10.0001 seconds\nProcess running with session ID 1003\n"
        "Original token count: 2\nOutput:\npartial\n"
    )


def test_token_count_is_utf8_bytes_over_four_rounded_up() -> None:
    # The counts codex 0.169 recorded in the fixture rollout.
    assert "Original token count: 6\n" in format_exec_output(chunk(b"hello-from-shell\nLinux\n"))
    three_lines = b"first line\nsecond line, edited\nthird line\n"
    assert "Original token count: 11\n" in format_exec_output(chunk(three_lines))
    assert "Original token count: 0\n" in format_exec_output(chunk(b""))


async def test_real_command_output_formats_like_codex(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    sessions = BackgroundTerminals()
    result = await sessions.start(
        shell_argv("touch t.txt && echo touched", "/bin/bash", login=True), tmp_path, env, 10_000
    )
    assert EXITED.fullmatch(format_exec_output(result))
    assert (tmp_path / "t.txt").exists()


def test_invalid_utf8_is_replaced() -> None:
    text = format_exec_output(chunk(b"ok \xff\xfe end\n"), chunk_id="000000")
    assert text.endswith("Output:\nok \ufffd\ufffd end\n")


def test_output_within_the_budget_is_unchanged() -> None:
    body = "x" * 40_000
    assert formatted_truncate_text(body, 10_000) == body


def test_truncation_keeps_head_and_tail_around_a_marker() -> None:
    lines = [f"line {i:05d}" for i in range(10_000)]
    body = "\n".join(lines) + "\n"
    text = format_exec_response(
        body, wall_time_s=0.5, exit_code=0, session_id=None, max_output_tokens=100
    )
    output = text.split("Output:\n", 1)[1]
    header, kept = output.split("\n\n", 1)
    total_tokens = (len(body) + 3) // 4
    assert header == (
        f"Warning: truncated output (original token count: {total_tokens})\n"
        "Total output lines: 10000"
    )
    assert kept.startswith("line 00000\nline 00001\n")
    assert kept.endswith("line 09998\nline 09999\n")
    head, tail = kept.split(f"…{(len(body) - 400 + 3) // 4} tokens truncated…")
    assert len(head.encode()) == 200
    assert len(tail.encode()) == 200
    assert f"Original token count: {total_tokens}\n" in text


def test_truncation_cuts_on_character_boundaries() -> None:
    # codex's own case: 30 bytes of CJK into a 3-token (12-byte) budget.
    assert truncate_middle("一二三四五六七八九十", 3) == "一二…5 tokens truncated…九十"


def test_zero_token_budget_leaves_only_the_marker() -> None:
    assert truncate_middle("abcdefgh", 0) == "…2 tokens truncated…"


@pytest.mark.parametrize(
    ("cmd", "expected"),
    [
        (
            "cat notes.txt",
            [{"type": "read", "cmd": "cat notes.txt", "name": "notes.txt", "path": "notes.txt"}],
        ),
        (
            "sed -n '1,200p' src/app/main.py",
            [
                {
                    "type": "read",
                    "cmd": "sed -n '1,200p' src/app/main.py",
                    "name": "main.py",
                    "path": "src/app/main.py",
                }
            ],
        ),
        (
            "head -n 50 Cargo.toml",
            [
                {
                    "type": "read",
                    "cmd": "head -n 50 Cargo.toml",
                    "name": "Cargo.toml",
                    "path": "Cargo.toml",
                }
            ],
        ),
        (
            "tail -n +10 README.md",
            [
                {
                    "type": "read",
                    "cmd": "tail -n +10 README.md",
                    "name": "README.md",
                    "path": "README.md",
                }
            ],
        ),
        (
            "less -p TODO README.md",
            [
                {
                    "type": "read",
                    "cmd": "less -p TODO README.md",
                    "name": "README.md",
                    "path": "README.md",
                }
            ],
        ),
        (
            "nl -ba core/src/x.rs | sed -n '10,20p'",
            [
                {
                    "type": "read",
                    "cmd": "nl -ba core/src/x.rs | sed -n '10,20p'",
                    "name": "x.rs",
                    "path": "core/src/x.rs",
                }
            ],
        ),
        (
            "cd foo && cat foo.txt",
            [{"type": "read", "cmd": "cat foo.txt", "name": "foo.txt", "path": "foo/foo.txt"}],
        ),
        ("ls -la", [{"type": "list_files", "cmd": "ls -la", "path": None}]),
        ("ls -la | sed -n '1,120p'", [{"type": "list_files", "cmd": "ls -la", "path": None}]),
        (
            "rg --files webview/src | head -n 50",
            [{"type": "list_files", "cmd": "rg --files webview/src", "path": "webview"}],
        ),
        ("find src -type f", [{"type": "list_files", "cmd": "find src -type f", "path": "src"}]),
        (
            "find . -name '*.rs'",
            [{"type": "search", "cmd": "find . -name '*.rs'", "query": "*.rs", "path": "."}],
        ),
        (
            'rg -n "BUG|TODO" -S | head -n 200',
            [{"type": "search", "cmd": "rg -n 'BUG|TODO' -S", "query": "BUG|TODO", "path": None}],
        ),
        (
            "grep -R TODO -n core/src/spawn.rs",
            [
                {
                    "type": "search",
                    "cmd": "grep -R TODO -n core/src/spawn.rs",
                    "query": "TODO",
                    "path": "spawn.rs",
                }
            ],
        ),
        (
            "rg --colors=never -n foo src",
            [
                {
                    "type": "search",
                    "cmd": "rg '--colors=never' -n foo src",
                    "query": "foo",
                    "path": "src",
                }
            ],
        ),
    ],
)
def test_recognised_commands_are_summarised(cmd: str, expected: list[dict[str, Any]]) -> None:
    assert parse_command_actions(cmd, "/work") == expected


def test_chain_of_recognised_commands_gives_one_action_each() -> None:
    assert parse_command_actions("ls src && cat README.md", "/work") == [
        {"type": "list_files", "cmd": "ls src", "path": "src"},
        {"type": "read", "cmd": "cat README.md", "name": "README.md", "path": "README.md"},
    ]


@pytest.mark.parametrize(
    "cmd",
    [
        "echo hello-from-shell; uname",  # the fixture's command
        "cat a.txt && make",  # one step not recognised
        "git status",
        "echo foo > bar",  # redirection
        "cat $FILE",  # expansion
        'cat "$(ls | head -1)"',  # substitution
        "FOO=1 cat x",  # assignment
        "(cd x && ls)",  # subshell
        "sleep 1 &",  # background
        "cat 'unterminated",
    ],
)
def test_anything_else_is_one_unknown_for_the_whole_script(cmd: str) -> None:
    assert parse_command_actions(cmd, "/work") == [{"type": "unknown", "cmd": cmd}]


def test_helper_steps_are_dropped_from_chains() -> None:
    assert parse_command_actions("echo ---; cat a.txt || true", "/work") == [
        {"type": "read", "cmd": "cat a.txt", "name": "a.txt", "path": "a.txt"}
    ]


def test_cd_alone_has_no_action() -> None:
    assert parse_command_actions("cd somewhere", "/work") == []


def test_v2_command_actions_have_absolute_read_paths() -> None:
    # What the fixture's thread/read returns for `cat notes.txt` run in /tmp/sa6/work.
    actions = parse_command_actions("cat notes.txt", "/tmp/sa6/work")
    assert to_command_actions(actions, "/tmp/sa6/work") == [
        {
            "type": "read",
            "command": "cat notes.txt",
            "name": "notes.txt",
            "path": "/tmp/sa6/work/notes.txt",
        }
    ]
    assert to_command_actions(parse_command_actions("rg --files", "/w"), "/w") == [
        {"type": "listFiles", "command": "rg --files", "path": None}
    ]
