"""Path-like params that no file can have are refused as -32602 naming the field (issue 14)."""

from __future__ import annotations

import pytest

from app_server.api.path_params import (
    MAX_FILE_NAME_BYTES,
    MAX_PATH_BYTES,
    check_home_path,
    check_path,
    check_paths,
)
from app_server.errors import InvalidParams


def refusal(field: str, value: str) -> str:
    with pytest.raises(InvalidParams) as refused:
        check_path(field, value)
    assert refused.value.code == -32602
    return refused.value.message


def test_ordinary_paths_pass_unchanged() -> None:
    for value in ("/work/project", "relative/dir", "~/code", "", "/tmp/é" * 10):
        assert check_path("cwd", value) == value


def test_nul_character_is_refused() -> None:
    assert refusal("cwd", "/tmp/a\x00b") == "Invalid params: `cwd`: contains a NUL character"


def test_file_name_over_name_max_is_refused() -> None:
    assert refusal("path", "/tmp/" + "a" * (MAX_FILE_NAME_BYTES + 1)) == (
        "Invalid params: `path`: file name is longer than 255 bytes"
    )


def test_file_name_limit_counts_utf8_bytes() -> None:
    """128 `é` are 128 characters but 256 bytes."""
    assert "file name is longer" in refusal("path", "/tmp/" + "é" * 128)


def test_file_name_at_name_max_passes() -> None:
    check_path("path", "/tmp/" + "a" * MAX_FILE_NAME_BYTES)


def test_path_over_path_max_is_refused() -> None:
    value = "/a" * (MAX_PATH_BYTES // 2 + 1)
    assert refusal("path", value) == "Invalid params: `path`: longer than 4095 bytes"


def test_list_items_are_named_by_index() -> None:
    with pytest.raises(InvalidParams) as refused:
        check_paths("cwd", ["/ok", "/bad\x00"])
    assert refused.value.message == "Invalid params: `cwd[1]`: contains a NUL character"


def test_home_of_an_unknown_user_is_refused() -> None:
    """`Path("~nobody-here/x").expanduser()` raises RuntimeError: that was a -32603."""
    with pytest.raises(InvalidParams) as refused:
        check_home_path("cwd", "~no-such-user-xyz/x")
    assert refused.value.message == (
        "Invalid params: `cwd`: `~no-such-user-xyz` names no user's home directory"
    )


def test_own_home_passes() -> None:
    assert check_home_path("cwd", "~/code") == "~/code"
