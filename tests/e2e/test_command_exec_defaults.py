"""`command/exec` when the params leave the limits out, and what a limit does when reached, as
codex 0.169.0 answers (observed on the binary with the same commands): a 10 s timeout that
answers exit code 124 with the output read until then and no notification; a 1 MiB cap per
stream, cut silently in the answer and marked `capReached` on the stream's last delta when
streamed. Also: the command leads a process group of its own (what terminate and the
connection's end kill)."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest

from app_server.api.command_exec import DEFAULT_OUTPUT_BYTES_CAP, DEFAULT_TIMEOUT_MS
from tests.conftest import Servers
from tests.support.client import RpcClient

FULL = {"type": "dangerFullAccess"}

MIB = 1024 * 1024

BIG_OUTPUT = (
    "head -c 1500000 /dev/zero | tr '\\0' a; head -c 1200000 /dev/zero | tr '\\0' b >&2; echo end"
)
"""More than the default cap on both streams, then a line the cap must drop."""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


async def client_for(servers: Servers) -> RpcClient:
    client = await servers.stdio()
    await client.initialize()
    return client


def deltas(client: RpcClient, process_id: str, stream: str) -> list[dict[str, Any]]:
    return [
        m["params"]
        for m in client.notifications_named("command/exec/outputDelta")
        if m["params"]["processId"] == process_id and m["params"]["stream"] == stream
    ]


def joined(params: list[dict[str, Any]]) -> bytes:
    return b"".join(base64.b64decode(p["deltaBase64"]) for p in params)


def test_the_defaults_are_codexs() -> None:
    assert DEFAULT_TIMEOUT_MS == 10_000
    assert DEFAULT_OUTPUT_BYTES_CAP == MIB


async def test_exec_without_timeout_is_ended_after_ten_seconds_with_124_and_its_output(
    servers: Servers, work: Path
) -> None:
    client = await client_for(servers)
    await client.call("command/exec", {"command": ["true"], "sandboxPolicy": FULL})
    started = time.monotonic()
    result = await client.call(
        "command/exec",
        {"command": ["sh", "-c", "echo start; echo err >&2; sleep 60"], "sandboxPolicy": FULL},
        timeout=40,
    )
    elapsed = time.monotonic() - started
    assert result == {"exitCode": 124, "stdout": "start\n", "stderr": "err\n"}
    assert 9.5 <= elapsed < 20
    assert client.notifications_named("command/exec/outputDelta") == []


async def test_exec_without_cap_keeps_one_mebibyte_of_each_stream(
    servers: Servers, work: Path
) -> None:
    client = await client_for(servers)
    result = await client.call(
        "command/exec", {"command": ["sh", "-c", BIG_OUTPUT], "sandboxPolicy": FULL}
    )
    assert result == {"exitCode": 0, "stdout": "a" * MIB, "stderr": "b" * MIB}


async def test_streamed_exec_without_cap_marks_each_streams_last_delta_cap_reached(
    servers: Servers, work: Path
) -> None:
    client = await client_for(servers)
    result = await client.call(
        "command/exec",
        {
            "command": ["sh", "-c", BIG_OUTPUT],
            "processId": "big",
            "streamStdoutStderr": True,
            "sandboxPolicy": FULL,
        },
    )
    assert result == {"exitCode": 0, "stdout": "", "stderr": ""}
    for stream, letter in (("stdout", b"a"), ("stderr", b"b")):
        sent = deltas(client, "big", stream)
        assert joined(sent) == letter * MIB
        assert [p["capReached"] for p in sent] == [False] * (len(sent) - 1) + [True]


async def test_streamed_exec_timeout_answers_124_with_the_output_only_streamed(
    servers: Servers, work: Path
) -> None:
    client = await client_for(servers)
    result = await client.call(
        "command/exec",
        {
            "command": ["sh", "-c", "echo start; sleep 30"],
            "processId": "slow",
            "streamStdoutStderr": True,
            "timeoutMs": 300,
            "sandboxPolicy": FULL,
        },
    )
    assert result == {"exitCode": 124, "stdout": "", "stderr": ""}
    sent = deltas(client, "slow", "stdout")
    assert joined(sent) == b"start\n"
    assert not any(p["capReached"] for p in sent)


async def test_exec_command_leads_a_process_group_of_its_own(servers: Servers, work: Path) -> None:
    client = await client_for(servers)
    result = await client.call(
        "command/exec",
        {"command": ["sh", "-c", "echo $$; ps -o pgid= -p $$"], "sandboxPolicy": FULL},
    )
    pid, pgid = (int(word) for word in result["stdout"].split())
    assert pid == pgid
