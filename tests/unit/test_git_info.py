"""`collect_git_info`: what git says about a cwd, run as real git subprocesses."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from app_server.rollout.lines import GitMeta
from app_server.threads import git_info
from app_server.threads.git_info import collect_git_info


def test_a_repository_without_commits_gives_an_empty_git_info(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "-b", "trunk"], cwd=tmp_path, check=True)

    assert collected(str(tmp_path)) == {}


def test_a_directory_outside_any_repository_gives_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))

    assert collected(str(tmp_path)) is None


def test_a_missing_git_binary_gives_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    monkeypatch.setattr(git_info, "GIT_BINARY", str(tmp_path / "no-such-git"))

    assert collected(str(tmp_path)) is None


def test_a_cwd_that_does_not_exist_gives_none(tmp_path: Path) -> None:
    assert collected(str(tmp_path / "gone")) is None


def collected(cwd: str) -> GitMeta | None:
    """`collect_git_info(cwd)` run to completion on its own event loop."""
    return asyncio.run(collect_git_info(cwd))
