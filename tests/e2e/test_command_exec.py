"""`command/exec` (and `/write`, `/resize`, `/terminate`) and `process/*` against the real
server process with real processes (codex 0.169's behaviour and texts, observed on the binary).
Every answer and notification is checked against the upstream schema by the client."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.sandbox_env import requires_bwrap

FULL = {"type": "dangerFullAccess"}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


async def client_for(servers: Servers, *, experimental: bool = False) -> RpcClient:
    client = await servers.stdio()
    await client.initialize(experimental=experimental)
    return client


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def streamed(client: RpcClient, method: str, key: str, value: str, stream: str) -> bytes:
    return b"".join(
        base64.b64decode(m["params"]["deltaBase64"])
        for m in client.notifications_named(method)
        if m["params"][key] == value and m["params"]["stream"] == stream
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    for _ in range(int(timeout / 0.05)):
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_exec_answers_exit_code_and_both_streams(servers: Servers, work: Path) -> None:
    client = await client_for(servers)
    result = await client.call(
        "command/exec",
        {"command": ["sh", "-c", "echo out; echo err >&2; exit 3"], "sandboxPolicy": FULL},
    )
    assert result == {"exitCode": 3, "stdout": "out\n", "stderr": "err\n"}


async def test_exec_runs_in_cwd_with_env_overrides(servers: Servers, work: Path) -> None:
    client = await client_for(servers)
    result = await client.call(
        "command/exec",
        {
            "command": ["sh", "-c", 'pwd; echo "$FOO"; echo "${HOME-unset}"'],
            "cwd": str(work),
            "env": {"FOO": "bar", "HOME": None},
            "sandboxPolicy": FULL,
        },
    )
    assert result["stdout"] == f"{work}\nbar\nunset\n"


async def test_exec_timeout_kills_the_command_with_124(servers: Servers, work: Path) -> None:
    client = await client_for(servers)
    marker = work / "late"
    result = await client.call(
        "command/exec",
        {
            "command": ["sh", "-c", f"sleep 2; touch {marker}"],
            "timeoutMs": 200,
            "sandboxPolicy": FULL,
        },
    )
    assert result["exitCode"] == 124
    await asyncio.sleep(2.5)
    assert not marker.exists()


async def test_exec_output_cap_truncates_each_stream(servers: Servers, work: Path) -> None:
    client = await client_for(servers)
    result = await client.call(
        "command/exec",
        {
            "command": ["sh", "-c", "yes a | head -c 100000"],
            "outputBytesCap": 10,
            "sandboxPolicy": FULL,
        },
    )
    assert result["stdout"] == "a\na\na\na\na\n"


async def test_exec_refusals_use_codex_texts(servers: Servers, work: Path) -> None:
    client = await client_for(servers)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"command": []}, -32600, "command must not be empty"),
        (
            {"command": ["cat"], "streamStdin": True},
            -32600,
            "command/exec tty or streaming requires a client-supplied processId",
        ),
        (
            {"command": ["pwd"], "timeoutMs": 5, "disableTimeout": True},
            -32602,
            "command/exec cannot set both timeoutMs and disableTimeout",
        ),
        (
            {"command": ["pwd"], "size": {"rows": 5, "cols": 5}},
            -32602,
            "command/exec size requires tty: true",
        ),
        (
            {"command": ["no-such-command-xyz"], "sandboxPolicy": FULL},
            -32600,
            "failed to spawn command: No such file or directory (os error 2)",
        ),
    ]
    for params, code, message in cases:
        reply = await client.request("command/exec", params)
        assert (reply.code, reply.message) == (code, message)


async def test_exec_streams_output_and_takes_stdin(servers: Servers, work: Path) -> None:
    client = await client_for(servers)
    running = asyncio.create_task(
        client.request(
            "command/exec",
            {
                "command": ["sh", "-c", "echo hi; cat; echo done >&2"],
                "processId": "p1",
                "streamStdin": True,
                "streamStdoutStderr": True,
                "sandboxPolicy": FULL,
            },
        )
    )
    await client.wait_notification("command/exec/outputDelta")
    await client.call("command/exec/write", {"processId": "p1", "deltaBase64": b64(b"xyz\n")})
    await client.call("command/exec/write", {"processId": "p1", "closeStdin": True})
    reply = await running
    assert reply.result == {"exitCode": 0, "stdout": "", "stderr": ""}
    assert streamed(client, "command/exec/outputDelta", "processId", "p1", "stdout") == b"hi\nxyz\n"
    assert streamed(client, "command/exec/outputDelta", "processId", "p1", "stderr") == b"done\n"
    again = await client.request("command/exec/write", {"processId": "p1", "closeStdin": True})
    assert (again.code, again.message) == (-32600, 'no active command/exec for process id "p1"')


async def test_exec_write_refuses_invalid_base64_first(servers: Servers, work: Path) -> None:
    client = await client_for(servers)
    reply = await client.request("command/exec/write", {"processId": "zz", "deltaBase64": "!!"})
    assert reply.code == -32602
    assert reply.message.startswith("invalid deltaBase64: ")


async def test_exec_terminate_kills_and_a_second_terminate_is_refused(
    servers: Servers, work: Path
) -> None:
    client = await client_for(servers)
    running = asyncio.create_task(
        client.request(
            "command/exec", {"command": ["sleep", "30"], "processId": "p2", "sandboxPolicy": FULL}
        )
    )
    await asyncio.sleep(0.3)
    write = await client.request("command/exec/write", {"processId": "p2", "deltaBase64": "eA=="})
    assert write.message == "stdin streaming is not enabled for this command/exec"
    resize = await client.request(
        "command/exec/resize", {"processId": "p2", "size": {"rows": 5, "cols": 5}}
    )
    assert resize.message == "failed to resize PTY: process is not attached to a PTY"
    await client.call("command/exec/terminate", {"processId": "p2"})
    assert (await running).result["exitCode"] == 137
    second = await client.request("command/exec/terminate", {"processId": "p2"})
    assert (second.code, second.message) == (-32600, 'no active command/exec for process id "p2"')


async def test_exec_tty_mode_has_a_resizable_terminal(servers: Servers, work: Path) -> None:
    client = await client_for(servers)
    running = asyncio.create_task(
        client.request(
            "command/exec",
            {
                "command": ["sh", "-c", "stty size; read x; stty size; echo got $x"],
                "processId": "t1",
                "tty": True,
                "size": {"rows": 20, "cols": 77},
                "sandboxPolicy": FULL,
            },
        )
    )
    await client.wait_notification("command/exec/outputDelta")
    await client.call("command/exec/resize", {"processId": "t1", "size": {"rows": 5, "cols": 9}})
    await client.call("command/exec/write", {"processId": "t1", "deltaBase64": b64(b"abc\n")})
    assert (await running).result == {"exitCode": 0, "stdout": "", "stderr": ""}
    out = streamed(client, "command/exec/outputDelta", "processId", "t1", "stdout")
    assert out.replace(b"\r", b"") == b"20 77\nabc\n5 9\ngot abc\n"


@requires_bwrap
async def test_exec_default_policy_is_the_read_only_sandbox(servers: Servers, work: Path) -> None:
    client = await client_for(servers)
    result = await client.call(
        "command/exec", {"command": ["sh", "-c", f"echo x > {work}/f"], "cwd": str(work)}
    )
    assert result["exitCode"] != 0
    assert not (work / "f").exists()
    allowed = await client.call(
        "command/exec",
        {
            "command": ["sh", "-c", f"echo x > {work}/f"],
            "cwd": str(work),
            "sandboxPolicy": {"type": "workspaceWrite", "writableRoots": [str(work)]},
        },
    )
    assert allowed["exitCode"] == 0
    assert (work / "f").read_text() == "x\n"


async def test_process_spawn_reports_exit_with_buffered_output(
    servers: Servers, work: Path
) -> None:
    client = await client_for(servers, experimental=True)
    result = await client.call(
        "process/spawn",
        {
            "command": ["sh", "-c", "echo out; echo err >&2; exit 3"],
            "cwd": str(work),
            "processHandle": "h1",
        },
    )
    assert result == {}
    exited = await client.wait_notification("process/exited")
    assert exited["params"] == {
        "processHandle": "h1",
        "exitCode": 3,
        "outputDrainTimedOut": False,
        "stdout": "out\n",
        "stdoutCapReached": False,
        "stderr": "err\n",
        "stderrCapReached": False,
    }


async def test_process_streams_and_caps_output(servers: Servers, work: Path) -> None:
    client = await client_for(servers, experimental=True)
    await client.call(
        "process/spawn",
        {
            "command": ["sh", "-c", "head -c 100 /dev/zero"],
            "cwd": str(work),
            "processHandle": "h9",
            "outputBytesCap": 10,
            "streamStdoutStderr": True,
        },
    )
    exited = await client.wait_notification("process/exited")
    assert exited["params"]["stdoutCapReached"] is True
    deltas = client.notifications_named("process/outputDelta")
    assert deltas[-1]["params"]["capReached"] is True
    assert streamed(client, "process/outputDelta", "processHandle", "h9", "stdout") == b"\0" * 10


async def test_process_kill_and_duplicate_handles(servers: Servers, work: Path) -> None:
    client = await client_for(servers, experimental=True)
    params = {"command": ["sleep", "30"], "cwd": str(work), "processHandle": "h3"}
    await client.call("process/spawn", params)
    duplicate = await client.request("process/spawn", params)
    assert duplicate.message == 'duplicate active process handle: "h3"'
    await client.call("process/kill", {"processHandle": "h3"})
    exited = await client.wait_notification("process/exited")
    assert exited["params"]["exitCode"] == 137
    again = await client.request("process/kill", {"processHandle": "h3"})
    assert (again.code, again.message) == (-32600, 'no active process for process handle "h3"')


async def test_process_spawn_refuses_a_relative_cwd(servers: Servers, work: Path) -> None:
    client = await client_for(servers, experimental=True)
    reply = await client.request(
        "process/spawn", {"command": ["pwd"], "cwd": "rel", "processHandle": "h"}
    )
    assert reply.code == -32602
    assert "`cwd`" in reply.message


async def test_process_spawn_needs_the_experimental_api(servers: Servers, work: Path) -> None:
    client = await client_for(servers)
    reply = await client.request(
        "process/spawn", {"command": ["pwd"], "cwd": str(work), "processHandle": "h"}
    )
    assert reply.message == "process/spawn requires experimentalApi capability"


async def started_pid(work: Path, name: str) -> int:
    pid_file = work / name
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text().strip():
            return int(pid_file.read_text())
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} never written")


async def test_no_process_outlives_its_connection(servers: Servers, work: Path) -> None:
    process = await servers.start(listen_ws=True)
    client = await servers.ws_client(process)
    await client.initialize(experimental=True)
    script = f"sleep 300 & echo $! > {work}/child; echo $$ > {work}/leader; wait"
    await client.call(
        "process/spawn", {"command": ["sh", "-c", script], "cwd": str(work), "processHandle": "a"}
    )
    exec_task = asyncio.create_task(
        client.request(
            "command/exec",
            {
                "command": ["sh", "-c", script.replace("/child", "/c2").replace("/leader", "/l2")],
                "processId": "b",
                "disableTimeout": True,
                "sandboxPolicy": FULL,
            },
        )
    )
    pids = [await started_pid(work, n) for n in ("child", "leader", "c2", "l2")]
    assert all(alive(pid) for pid in pids)
    await client.close()
    exec_task.cancel()
    for pid in pids:
        assert await wait_gone(pid), f"process {pid} outlived its connection"


async def test_no_process_outlives_the_server(servers: Servers, work: Path) -> None:
    client = await client_for(servers, experimental=True)
    script = f"sleep 300 & echo $! > {work}/child; echo $$ > {work}/leader; wait"
    await client.call(
        "process/spawn", {"command": ["sh", "-c", script], "cwd": str(work), "processHandle": "a"}
    )
    pids = [await started_pid(work, n) for n in ("child", "leader")]
    servers.processes[0].signal(signal.SIGTERM)
    await servers.processes[0].wait()
    for pid in pids:
        assert await wait_gone(pid), f"process {pid} outlived the server"
