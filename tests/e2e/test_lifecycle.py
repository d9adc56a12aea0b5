"""Process lifecycle: clean exits on stdin EOF and on signals; stdout carries protocol only."""

from __future__ import annotations

import signal

import pytest

from tests.conftest import Servers
from tests.support.sandbox_env import not_sandbox_warning


async def test_stdin_eof_exits_cleanly(servers: Servers) -> None:
    client = await servers.stdio()
    await client.initialize()
    await client.close()
    assert await servers.processes[0].wait() == 0


async def test_stdin_eof_still_answers_requests_already_sent(servers: Servers) -> None:
    client = await servers.stdio()
    await client.send_raw(
        b'{"id":1,"method":"initialize","params":{"clientInfo":{"name":"a","version":"1"}}}\n'
        b'{"id":2,"method":"foo/bar","params":{}}'
    )
    await client.close()
    assert await servers.processes[0].wait() == 0
    await client.closed.wait()
    assert [m["id"] for m in client.unmatched] == [1, 2]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_signal_stops_stdio_server_cleanly(servers: Servers, signum: int) -> None:
    client = await servers.stdio()
    await client.initialize()
    servers.processes[0].signal(signum)
    assert await servers.processes[0].wait() == 0


async def test_sigterm_stops_websocket_server_and_closes_clients(servers: Servers) -> None:
    process = await servers.start(listen_ws=True)
    client = await servers.ws_client(process)
    await client.initialize()
    process.signal(signal.SIGTERM)
    assert await process.wait() == 0
    await client.closed.wait()


async def test_stray_output_never_reaches_stdout(servers: Servers) -> None:
    client = await servers.stdio()
    await client.initialize()
    await client.close()
    await servers.processes[0].wait()
    await client.closed.wait()
    assert client.violations == []
    assert all("id" in m or "method" in m for m in client.received)


async def test_invalid_config_file_is_reported_after_initialize(servers: Servers) -> None:
    (servers.dirs.data_dir / "config.toml").write_text("model = [unclosed\n")
    client = await servers.stdio()
    await client.initialize()
    warning = await client.wait_notification("configWarning", where=not_sandbox_warning)
    assert warning["params"]["summary"] == "Invalid config.toml; using defaults"
    assert warning["params"]["path"] == str(servers.dirs.data_dir / "config.toml")


async def test_malformed_config_override_fails_with_usage_error(servers: Servers) -> None:
    process = await servers.start("-c", "no-equals-sign")
    assert await process.wait() == 2
    assert "invalid -c override" in process.stderr_text()


async def test_version_flag_prints_version(servers: Servers) -> None:
    process = await servers.start("--version")
    assert await process.wait() == 0
    assert process.process.stdout is not None
    out = await process.process.stdout.read()
    assert out.decode().startswith("app-server ")


async def test_leading_app_server_word_and_options_before_it_are_accepted(
    servers: Servers,
) -> None:
    process = await servers.start("-c", 'model="gpt-test"', "app-server", "--listen", "stdio://")
    client = process.stdio_client()
    servers.clients.append(client)
    result = await client.initialize()
    assert result["codexHome"] == str(servers.dirs.data_dir)


async def test_opted_out_notification_is_never_sent(servers: Servers) -> None:
    (servers.dirs.data_dir / "config.toml").write_text("model = [unclosed\n")
    client = await servers.stdio()
    await client.initialize(opt_out=["configWarning"])
    reply = await client.request("initialize", {"clientInfo": {"name": "x", "version": "1"}})
    assert reply.message == "Already initialized"
    assert client.notifications_named("configWarning") == []
