"""A thread whose cwd is in a git repository carries codex 0.169's git info (observed on the
binary): the rollout's `session_meta.git` `{commit_hash, branch, repository_url}` is written
with the thread's first line (its first turn, or at once for a fork), and `Thread.gitInfo`
`{sha, branch, originUrl}` shows it in `thread/read`, `thread/list`, `thread/fork` and
`thread/resume` (also after a restart), for spawned sub-agents too (assumed: codex's rollout
recorder collects for every new rollout); `thread/start` answers `null` (nothing is written
yet). Outside a repository no `git` key is written and `gitInfo` stays `null`. Every answer is
checked against the upstream schema by the client."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.e2e.test_turns import new_thread, start_client
from tests.support.agent_env import collab, items_of, spawn, v2_client
from tests.support.client import RpcClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import start_thread, turn
from tests.support.turn_env import MODEL_ENV, run_turn

ORIGIN = "https://example.com/owner/repo.git"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def make_repo(path: Path, *, branch: str = "feature", origin: str | None = ORIGIN) -> str:
    """A repository at `path` with one commit on `branch` (and an `origin`); its commit hash."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "test@example.com")
    git(path, "config", "user.name", "test")
    (path / "file.txt").write_text("x")
    git(path, "add", "file.txt")
    git(path, "commit", "-qm", "first")
    git(path, "checkout", "-qb", branch)
    if origin is not None:
        git(path, "remote", "add", "origin", origin)
    return git(path, "rev-parse", "HEAD")


def session_meta_git(thread: dict[str, Any]) -> object:
    first = json.loads(Path(thread["path"]).read_text().splitlines()[0])
    assert first["type"] == "session_meta"
    return first["payload"].get("git", "absent")


async def read(client: RpcClient, thread_id: str) -> dict[str, Any]:
    result = await client.call("thread/read", {"threadId": thread_id})
    thread: dict[str, Any] = result["thread"]
    return thread


async def listed(client: RpcClient, thread_id: str) -> dict[str, Any]:
    page = await client.call("thread/list", {})
    return next(thread for thread in page["data"] if thread["id"] == thread_id)


async def test_a_thread_in_a_repository_shows_its_commit_branch_and_origin(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    sha = make_repo(tmp_path / "repo")
    client = await start_client(servers, model_server, experimental=True)
    started = await client.call("thread/start", {"cwd": str(tmp_path / "repo")})
    thread_id = started["thread"]["id"]
    await run_turn(client, thread_id, "hi")

    expected = {"sha": sha, "branch": "feature", "originUrl": ORIGIN}
    assert started["thread"]["gitInfo"] is None
    assert (await read(client, thread_id))["gitInfo"] == expected
    assert (await listed(client, thread_id))["gitInfo"] == expected


async def test_the_rollout_session_meta_records_the_git_info(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    sha = make_repo(tmp_path / "repo")
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client, cwd=str(tmp_path / "repo" / "."))
    await run_turn(client, thread_id, "hi")

    thread = await read(client, thread_id)
    assert session_meta_git(thread) == {
        "commit_hash": sha,
        "branch": "feature",
        "repository_url": ORIGIN,
    }


async def test_git_info_shows_on_resume_and_listing_after_a_restart(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    sha = make_repo(tmp_path / "repo")
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client, cwd=str(tmp_path / "repo"))
    await run_turn(client, thread_id, "hi")
    await client.close()

    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize(experimental=True)
    stored = await read(again, thread_id)
    resumed = await again.call("thread/resume", {"threadId": thread_id, "excludeTurns": True})

    expected = {"sha": sha, "branch": "feature", "originUrl": ORIGIN}
    for thread in (stored, resumed["thread"], await listed(again, thread_id)):
        assert thread["gitInfo"] == expected


async def test_a_fork_collects_the_git_info_at_once(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    sha = make_repo(repo)
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client, cwd=str(repo))
    await run_turn(client, thread_id, "hi")
    git(repo, "checkout", "-qb", "later")

    forked = await client.call("thread/fork", {"threadId": thread_id})

    expected = {"sha": sha, "branch": "later", "originUrl": ORIGIN}
    assert forked["thread"]["gitInfo"] == expected
    assert session_meta_git(forked["thread"])["branch"] == "later"  # type: ignore[index]


async def test_a_detached_head_without_origin_has_only_a_commit(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    sha = make_repo(repo, origin=None)
    git(repo, "checkout", "-q", "--detach")
    client = await start_client(servers, model_server, experimental=True)
    thread_id = await new_thread(client, cwd=str(repo))
    await run_turn(client, thread_id, "hi")

    thread = await read(client, thread_id)
    assert thread["gitInfo"] == {"sha": sha, "branch": None, "originUrl": None}
    assert session_meta_git(thread) == {"commit_hash": sha}


async def test_a_thread_outside_any_repository_has_no_git_info(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    env = {**MODEL_ENV, "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    client = await start_client(servers, model_server, env=env, experimental=True)
    thread_id = await new_thread(client, cwd=str(plain))
    await run_turn(client, thread_id, "hi")

    thread = await read(client, thread_id)
    assert (thread["gitInfo"], session_meta_git(thread)) == (None, "absent")


async def test_a_spawned_sub_agent_carries_the_git_info_of_its_cwd(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    sha = make_repo(repo)
    model_server.enqueue(
        spawn("helper", "go", "call_spawn", fork_turns="none"),
        collab("wait_agent", {"timeout_ms": 20000}, "call_wait"),
        Reply.text("done"),
    )
    model_server.enqueue_for("/root/helper", Reply.text("child done"))
    client = await v2_client(servers, model_server)
    parent = await start_thread(client, repo)
    await turn(client, parent)

    (activity, *_) = items_of(client, "item/completed", "subAgentActivity", parent)
    child = await read(client, activity["agentThreadId"])
    assert child["gitInfo"] == {"sha": sha, "branch": "feature", "originUrl": ORIGIN}
