"""The bubblewrap sandbox, enforced for real: commands run under it and try to write and connect.

Every test runs actual processes (through `run_process`) in temp dirs; the policy intent of
AGENT_LOOP.md §5.3 is what is checked — read-only writes nothing, workspace-write writes only
its roots and never `.git` / `.codex` / `.agents`, network only when allowed, full access is
not wrapped at all. `sandboxed` is the one place that knows the sandbox module's API.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from app_server.agent.tools.exec.process import ProcessResult, run_process
from app_server.agent.tools.exec.sandbox import SandboxSpec, find_bwrap, sandbox_argv


@pytest.fixture
def bwrap() -> str:
    path = find_bwrap()
    if path is None:
        pytest.skip("bubblewrap is not available or does not work here")
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    cwd = tmp_path / "ws"
    cwd.mkdir()
    (cwd / "existing.txt").write_text("readable\n")
    return cwd


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    return path


def spec(
    mode: str,
    cwd: Path,
    *,
    roots: Sequence[Path] = (),
    network: bool = False,
    exclude_tmp: bool = False,
) -> SandboxSpec:
    """A spec for `mode`; `exclude_tmp` removes both `/tmp` and `$TMPDIR` from the roots."""
    return SandboxSpec.from_policy(
        {
            "type": mode,
            "writableRoots": [str(root) for root in roots],
            "networkAccess": network,
            "excludeSlashTmp": exclude_tmp,
            "excludeTmpdirEnvVar": exclude_tmp,
        },
        cwd,
    )


async def sandboxed(bwrap: str, policy: SandboxSpec, argv: list[str], cwd: Path) -> ProcessResult:
    """Run `argv` in `cwd` under `policy`."""
    return await run_process(
        sandbox_argv(policy, argv, bwrap),
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
        on_output=lambda _: None,
        timeout_s=30,
    )


def test_bwrap_is_found_and_probed_once(bwrap: str) -> None:
    assert Path(bwrap).name == "bwrap"
    assert find_bwrap() == bwrap


def test_a_bwrap_that_does_not_exist_counts_as_unavailable(tmp_path: Path) -> None:
    assert find_bwrap(str(tmp_path / "no-such-bwrap")) is None


async def test_read_only_cannot_write_in_the_cwd(bwrap: str, workspace: Path) -> None:
    result = await sandboxed(bwrap, spec("readOnly", workspace), ["touch", "new.txt"], workspace)
    assert result.exit_code != 0
    assert b"Read-only file system" in result.output
    assert not (workspace / "new.txt").exists()


async def test_read_only_cannot_write_in_tmp(bwrap: str, workspace: Path) -> None:
    target = Path("/tmp") / f"sandbox-probe-{workspace.parent.name}"
    result = await sandboxed(bwrap, spec("readOnly", workspace), ["touch", str(target)], workspace)
    assert result.exit_code != 0
    assert not target.exists()


async def test_read_only_cannot_modify_existing_files(bwrap: str, workspace: Path) -> None:
    result = await sandboxed(
        bwrap,
        spec("readOnly", workspace),
        ["bash", "-c", "echo changed > existing.txt; rm -f existing.txt"],
        workspace,
    )
    assert result.exit_code != 0
    assert (workspace / "existing.txt").read_text() == "readable\n"


async def test_read_only_can_read_files(bwrap: str, workspace: Path) -> None:
    result = await sandboxed(bwrap, spec("readOnly", workspace), ["cat", "existing.txt"], workspace)
    assert (result.exit_code, result.output) == (0, b"readable\n")


async def test_workspace_write_can_write_in_the_cwd(bwrap: str, workspace: Path) -> None:
    result = await sandboxed(
        bwrap,
        spec("workspaceWrite", workspace, exclude_tmp=True),
        ["bash", "-c", "mkdir sub && echo hi > sub/new.txt"],
        workspace,
    )
    assert result.exit_code == 0
    assert (workspace / "sub" / "new.txt").read_text() == "hi\n"


async def test_workspace_write_cannot_write_outside_its_roots(
    bwrap: str, workspace: Path, outside: Path
) -> None:
    result = await sandboxed(
        bwrap,
        spec("workspaceWrite", workspace, exclude_tmp=True),
        ["touch", str(outside / "escape.txt")],
        workspace,
    )
    assert result.exit_code != 0
    assert not (outside / "escape.txt").exists()


async def test_workspace_write_can_write_in_tmp_unless_excluded(
    bwrap: str, workspace: Path, outside: Path
) -> None:
    assert outside.is_relative_to("/tmp")  # pytest's tmp_path lives in /tmp here
    allowed = await sandboxed(
        bwrap, spec("workspaceWrite", workspace), ["touch", str(outside / "a.txt")], workspace
    )
    assert allowed.exit_code == 0
    assert (outside / "a.txt").exists()


async def test_workspace_write_can_write_in_extra_writable_roots(
    bwrap: str, workspace: Path, outside: Path
) -> None:
    result = await sandboxed(
        bwrap,
        spec("workspaceWrite", workspace, roots=[outside], exclude_tmp=True),
        ["touch", str(outside / "granted.txt")],
        workspace,
    )
    assert result.exit_code == 0
    assert (outside / "granted.txt").exists()


@pytest.mark.parametrize("name", [".git", ".codex", ".agents"])
async def test_workspace_write_keeps_protected_dirs_read_only(
    bwrap: str, workspace: Path, name: str
) -> None:
    protected = workspace / name
    protected.mkdir()
    (protected / "config").write_text("original\n")
    result = await sandboxed(
        bwrap,
        spec("workspaceWrite", workspace, exclude_tmp=True),
        [
            "bash",
            "-c",
            f"touch ok.txt; echo hacked > {name}/config; touch {name}/hook; rm -rf {name}",
        ],
        workspace,
    )
    assert result.exit_code != 0
    assert (workspace / "ok.txt").exists()  # the rest of the cwd stays writable
    assert (protected / "config").read_text() == "original\n"
    assert not (protected / "hook").exists()


@pytest.fixture
async def loopback_port() -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that answers every connection with `hello`."""

    async def greet(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


CONNECT = (
    "import socket, sys\n"
    "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=3)\n"
    "print(s.recv(16).decode().strip())\n"
)


@pytest.mark.parametrize("mode", ["readOnly", "workspaceWrite"])
async def test_network_is_cut_off_without_network_access(
    bwrap: str, workspace: Path, loopback_port: int, mode: str
) -> None:
    result = await sandboxed(
        bwrap,
        spec(mode, workspace),
        [sys.executable, "-c", CONNECT, str(loopback_port)],
        workspace,
    )
    assert result.exit_code != 0
    assert b"hello" not in result.output


@pytest.mark.parametrize("mode", ["readOnly", "workspaceWrite"])
async def test_network_works_with_network_access(
    bwrap: str, workspace: Path, loopback_port: int, mode: str
) -> None:
    result = await sandboxed(
        bwrap,
        spec(mode, workspace, network=True),
        [sys.executable, "-c", CONNECT, str(loopback_port)],
        workspace,
    )
    assert (result.exit_code, result.output) == (0, b"hello\n")


async def test_danger_full_access_is_not_wrapped_and_writes_anywhere(
    bwrap: str, workspace: Path, outside: Path, loopback_port: int
) -> None:
    policy = spec("dangerFullAccess", workspace)
    argv = ["touch", str(outside / "anywhere.txt")]
    assert sandbox_argv(policy, argv, bwrap) == argv
    result = await sandboxed(bwrap, policy, argv, workspace)
    assert result.exit_code == 0
    assert (outside / "anywhere.txt").exists()
    connected = await sandboxed(
        bwrap, policy, [sys.executable, "-c", CONNECT, str(loopback_port)], workspace
    )
    assert connected.output == b"hello\n"


async def test_sandboxed_command_sees_only_its_own_processes(bwrap: str, workspace: Path) -> None:
    result = await sandboxed(
        bwrap,
        spec("readOnly", workspace),
        ["bash", "-c", "ls /proc | grep -c '^[0-9]'"],
        workspace,
    )
    assert result.exit_code == 0
    assert int(result.output) < 10  # bwrap's init, bash, ls, grep — not the host's processes


def test_protected_dirs_are_bound_after_the_writable_roots(bwrap: str, workspace: Path) -> None:
    (workspace / ".git").mkdir()
    argv = sandbox_argv(spec("workspaceWrite", workspace, exclude_tmp=True), ["true"], bwrap)
    assert argv[:4] == [bwrap, "--ro-bind", "/", "/"]
    real = str(workspace.resolve())
    bind = argv.index("--bind")
    assert argv[bind + 1 : bind + 3] == [real, real]
    protected = argv.index(f"{real}/.git")
    assert argv[protected - 1] == "--ro-bind"
    assert protected > bind
    assert argv[argv.index("--chdir") + 1] == str(workspace)
    assert "--unshare-net" in argv
    assert argv[-2:] == ["--", "true"]
