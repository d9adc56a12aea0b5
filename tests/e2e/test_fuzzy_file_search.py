"""`fuzzyFileSearch` and its sessions against the real server process on a real tree (a git
repository with a `.gitignore`). Every answer and notification is checked against the upstream
schema by the client."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import Servers
from tests.support.client import RpcClient


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for rel in (
        "src/app/main.py",
        "src/app/mainframe.rs",
        "src/main_test.py",
        "docs/MAIN.md",
        "README.md",
        "build/main.o",
        "debug.log",
        "src/app/a_m_a_i_n.txt",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    (root / ".gitignore").write_text("build/\n*.log\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


async def client_for(servers: Servers) -> RpcClient:
    client = await servers.stdio()
    await client.initialize(experimental=True)  # the session methods are experimental
    return client


async def test_search_ranks_matches_and_skips_ignored_files(servers: Servers, tree: Path) -> None:
    client = await client_for(servers)
    result = await client.call("fuzzyFileSearch", {"query": "main", "roots": [str(tree)]})
    paths = [f["path"] for f in result["files"]]
    assert "build/main.o" not in paths
    assert set(paths) >= {"src/app/main.py", "src/app/mainframe.rs", "src/main_test.py"}
    scores = {f["path"]: f["score"] for f in result["files"]}
    assert list(scores.values()) == sorted(scores.values(), reverse=True)
    assert scores["src/app/main.py"] > scores["src/app/a_m_a_i_n.txt"]  # a word beats scattered


async def test_search_results_carry_root_name_kind_and_match_indices(
    servers: Servers, tree: Path
) -> None:
    client = await client_for(servers)
    result = await client.call("fuzzyFileSearch", {"query": "app", "roots": [str(tree)]})
    top = result["files"][0]
    assert top["root"] == str(tree)
    assert (top["path"], top["match_type"], top["file_name"]) == ("src/app", "directory", "app")
    assert top["indices"] == [4, 5, 6]


async def test_case_is_ignored(servers: Servers, tree: Path) -> None:
    client = await client_for(servers)
    upper = await client.call("fuzzyFileSearch", {"query": "MAIN", "roots": [str(tree)]})
    lower = await client.call("fuzzyFileSearch", {"query": "main", "roots": [str(tree)]})
    assert upper == lower


async def test_an_empty_query_finds_nothing(servers: Servers, tree: Path) -> None:
    client = await client_for(servers)
    result = await client.call("fuzzyFileSearch", {"query": "", "roots": [str(tree)]})
    assert result == {"files": []}


async def test_a_relative_root_is_refused(servers: Servers, tree: Path) -> None:
    client = await client_for(servers)
    reply = await client.request("fuzzyFileSearch", {"query": "a", "roots": ["repo"]})
    assert reply.code == -32602
    assert "`roots[0]`" in reply.message


async def test_a_session_answers_each_update_then_completes(servers: Servers, tree: Path) -> None:
    client = await client_for(servers)
    await client.call("fuzzyFileSearch/sessionStart", {"sessionId": "s1", "roots": [str(tree)]})
    await client.call("fuzzyFileSearch/sessionUpdate", {"sessionId": "s1", "query": "rdm"})
    updated = await client.wait_notification(
        "fuzzyFileSearch/sessionUpdated", where=lambda m: m["params"]["query"] != ""
    )  # the start's own empty answer may come first (when the walk was done before the update)
    assert updated["params"]["sessionId"] == "s1"
    assert updated["params"]["query"] == "rdm"
    assert [f["path"] for f in updated["params"]["files"]] == ["README.md"]
    completed = await client.wait_notification("fuzzyFileSearch/sessionCompleted")
    assert completed["params"] == {"sessionId": "s1"}
    await client.call("fuzzyFileSearch/sessionStop", {"sessionId": "s1"})
    reply = await client.request("fuzzyFileSearch/sessionUpdate", {"sessionId": "s1", "query": "x"})
    assert reply.code == -32600
    assert reply.message == "fuzzy file search session not found: s1"


async def test_a_session_start_answers_the_empty_query_once_walked(
    servers: Servers, tree: Path
) -> None:
    """Codex 0.169 sends an empty `sessionUpdated` and `sessionCompleted` after `sessionStart`."""
    client = await client_for(servers)
    await client.call("fuzzyFileSearch/sessionStart", {"sessionId": "s1", "roots": [str(tree)]})
    updated = await client.wait_notification("fuzzyFileSearch/sessionUpdated")
    assert updated["params"] == {"sessionId": "s1", "query": "", "files": []}
    completed = await client.wait_notification("fuzzyFileSearch/sessionCompleted")
    assert completed["params"] == {"sessionId": "s1"}


async def test_a_session_without_roots_is_refused_with_codexs_text(
    servers: Servers, tree: Path
) -> None:
    client = await client_for(servers)
    reply = await client.request("fuzzyFileSearch/sessionStart", {"sessionId": "s", "roots": []})
    assert (reply.code, reply.message) == (
        -32600,
        "failed to start fuzzy file search session: at least one search directory is required",
    )
    again = await client.request("fuzzyFileSearch/sessionUpdate", {"sessionId": "s", "query": "a"})
    assert again.message == "fuzzy file search session not found: s"
