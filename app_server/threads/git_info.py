"""What git says about a thread's cwd, for `session_meta.git` and the wire `Thread.gitInfo`.

Codex 0.169 asks git when a thread's rollout is written (its first turn, or at once for a fork):
`rev-parse --git-dir` decides whether the cwd is in a repository at all (outside one, no `git`
key is written); then `rev-parse HEAD` (commit), `rev-parse --abbrev-ref HEAD` (branch; a
detached HEAD has none) and `remote get-url origin` (origin URL), each kept only when git
answers. The commands run as asynchronous subprocesses, concurrently, so the event loop never
waits on them; a missing git binary, a failing command or one that overruns its timeout gives
no value.
"""

from __future__ import annotations

import asyncio
import contextlib

from msgspec.structs import replace

from app_server.rollout.lines import GitMeta
from app_server.store.records import ThreadRecord

GIT_COMMAND_TIMEOUT_S = 5.0
"""How long one git command may run (codex's `GIT_COMMAND_TIMEOUT`, 5 s). It bounds how long a
first turn (or a fork) waits on a huge or stuck repository; a shorter limit would drop the
git info of slow but healthy repositories."""

GIT_BINARY = "git"
"""The git executable, looked up on PATH as codex does."""

DETACHED_HEAD = "HEAD"
"""What `rev-parse --abbrev-ref HEAD` prints on a detached HEAD: no branch."""


async def _git(cwd: str, *args: str) -> str | None:
    """Stdout of one git command in `cwd`, stripped; None on any failure or an empty answer."""
    try:
        process = await asyncio.create_subprocess_exec(
            GIT_BINARY,
            *args,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:  # no git binary, or the cwd is gone
        return None
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), GIT_COMMAND_TIMEOUT_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return None
    if process.returncode != 0:
        return None
    text = stdout.decode("utf-8", errors="replace").strip()
    return text or None


async def collect_git_info(cwd: str) -> GitMeta | None:
    """`session_meta.git` for a thread in `cwd`: None outside a repository (or without git),
    else the keys git answered (`{}` in a repository with no commit yet)."""
    if await _git(cwd, "rev-parse", "--git-dir") is None:
        return None
    commit, branch, origin = await asyncio.gather(
        _git(cwd, "rev-parse", "HEAD"),
        _git(cwd, "rev-parse", "--abbrev-ref", "HEAD"),
        _git(cwd, "remote", "get-url", "origin"),
    )
    info: GitMeta = {}
    if commit is not None:
        info["commit_hash"] = commit
    if branch is not None and branch != DETACHED_HEAD:
        info["branch"] = branch
    if origin is not None:
        info["repository_url"] = origin
    return info


def with_git(record: ThreadRecord, git: GitMeta | None) -> ThreadRecord:
    """`record` with the git fields the index reads from `git` (all None without it)."""
    git = git or {}
    return replace(
        record,
        git_sha=git.get("commit_hash"),
        git_branch=git.get("branch"),
        git_origin_url=git.get("repository_url"),
    )
