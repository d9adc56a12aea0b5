"""The file-search walk obeys ignore files where codex 0.169's walker does (observed on the
binary): `.ignore` everywhere, `.gitignore` only inside a git repository, and the root's
ancestors' files too."""

from __future__ import annotations

import subprocess
from pathlib import Path

from app_server.file_search.walk import repository_top, walk


def make(root: Path, *files: str) -> None:
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")


def paths(root: Path) -> set[str]:
    return {entry.path for entry in walk(str(root))}


def git_init(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)


def test_a_gitignore_outside_a_repository_hides_nothing(tmp_path: Path) -> None:
    make(tmp_path, "src/main.py", "ignored/main.py")
    (tmp_path / ".gitignore").write_text("ignored/\n")
    assert "ignored/main.py" in paths(tmp_path)


def test_a_gitignore_inside_a_repository_hides_what_it_names(tmp_path: Path) -> None:
    make(tmp_path, "src/main.py", "ignored/main.py")
    (tmp_path / ".gitignore").write_text("ignored/\n")
    git_init(tmp_path)
    assert "ignored/main.py" not in paths(tmp_path)
    assert "src/main.py" in paths(tmp_path)


def test_a_dot_ignore_hides_what_it_names_outside_a_repository(tmp_path: Path) -> None:
    make(tmp_path, "other/main.py", "src/main.py")
    (tmp_path / ".ignore").write_text("other/\n")
    assert "other/main.py" not in paths(tmp_path)


def test_the_ancestors_ignore_files_apply_to_a_root_inside_a_repository(tmp_path: Path) -> None:
    make(tmp_path, "a/b/keep.py", "a/b/main.log", "a/b/main.py", "a/b/mainx.txt")
    (tmp_path / "a" / ".gitignore").write_text("b/keep.py\n*.log\n")
    (tmp_path / ".ignore").write_text("mainx.txt\n")
    git_init(tmp_path)
    assert paths(tmp_path / "a" / "b") == {"main.py"}


def test_outside_a_repository_only_the_ancestors_dot_ignore_applies(tmp_path: Path) -> None:
    make(tmp_path, "a/b/keep.py", "a/b/main.log", "a/b/mainx.txt")
    (tmp_path / "a" / ".gitignore").write_text("*.log\n")
    (tmp_path / ".ignore").write_text("mainx.txt\n")
    assert paths(tmp_path / "a" / "b") == {"keep.py", "main.log"}


def test_the_repository_top_is_the_nearest_directory_holding_git(tmp_path: Path) -> None:
    make(tmp_path, "a/b/x.py")
    git_init(tmp_path / "a")
    assert repository_top(str(tmp_path / "a" / "b")) == str(tmp_path / "a")
