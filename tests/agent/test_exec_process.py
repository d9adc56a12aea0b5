"""Processes and unified-exec sessions for the model's shell commands, with real processes.

Covers `run_process` (streaming, merged output, exit codes, timeouts and cancellation killing
the whole process group, the output cap), the shell argv and display string, and
`BackgroundTerminals` (yielding into a terminal, polling, writing to a tty, exit codes, killing).
Ends with a spawn-overhead measurement (`measure_spawn_overhead`, printed; run with `-s`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app_server.agent.tools.exec.background_terminals import BackgroundTerminals
from app_server.agent.tools.exec.process import (
    AGGREGATED_OUTPUT_MAX_BYTES,
    display_command,
    run_process,
    shell_argv,
)
from app_server.agent.tools.exec.terminal_errors import StdinClosed, UnknownTerminal
from app_server.agent.tools.exec.terminal_results import ExecExit

BWRAP = shutil.which("bwrap")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A minimal environment with HOME in a temp dir (login shells read it)."""
    home = tmp_path / "home"
    home.mkdir()
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}


def pid_gone(pid: int) -> bool:
    """True if `pid` no longer runs (absent, or a zombie nobody has reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


async def wait_gone(pids: list[int], timeout_s: float = 5.0) -> list[int]:
    """The pids still running after up to `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        alive = [pid for pid in pids if not pid_gone(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        await asyncio.sleep(0.02)


def pids_with_arg(marker: str) -> list[int]:
    """Host pids of processes with `marker` as one of their arguments."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in args and not pid_gone(int(entry.name)):
            found.append(int(entry.name))
    return found


async def wait_for(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


# --- run_process ------------------------------------------------------------------------------


async def test_output_is_streamed_in_chunks_and_aggregated(
    tmp_path: Path, env: dict[str, str]
) -> None:
    chunks: list[bytes] = []
    times: list[float] = []

    def on_output(chunk: bytes) -> None:
        chunks.append(chunk)
        times.append(time.monotonic())

    result = await run_process(
        ["bash", "-c", "echo first; sleep 0.3; echo second"],
        cwd=tmp_path,
        env=env,
        on_output=on_output,
        timeout_s=10,
    )
    assert chunks == [b"first\n", b"second\n"]
    assert times[1] - times[0] >= 0.25  # the first chunk came before the command ended
    assert result.output == b"first\nsecond\n"
    assert result.exit_code == 0
    assert not result.timed_out


async def test_stdout_and_stderr_are_merged_in_arrival_order(
    tmp_path: Path, env: dict[str, str]
) -> None:
    result = await run_process(
        ["bash", "-c", "echo one; echo two >&2; echo three; echo four >&2"],
        cwd=tmp_path,
        env=env,
        on_output=lambda _: None,
        timeout_s=10,
    )
    assert result.output == b"one\ntwo\nthree\nfour\n"


async def test_exit_code_is_the_commands_status(tmp_path: Path, env: dict[str, str]) -> None:
    result = await run_process(
        ["bash", "-c", "exit 7"], cwd=tmp_path, env=env, on_output=lambda _: None, timeout_s=10
    )
    assert result.exit_code == 7


async def test_death_by_signal_is_128_plus_the_signal(tmp_path: Path, env: dict[str, str]) -> None:
    result = await run_process(
        ["bash", "-c", "kill -KILL $$"],
        cwd=tmp_path,
        env=env,
        on_output=lambda _: None,
        timeout_s=10,
    )
    assert result.exit_code == 128 + 9


async def test_stdin_bytes_are_fed_to_the_command(tmp_path: Path, env: dict[str, str]) -> None:
    result = await run_process(
        ["cat"], cwd=tmp_path, env=env, on_output=lambda _: None, timeout_s=10, stdin=b"fed\n"
    )
    assert result.output == b"fed\n"


async def test_without_stdin_the_command_reads_eof(tmp_path: Path, env: dict[str, str]) -> None:
    result = await run_process(
        ["cat"], cwd=tmp_path, env=env, on_output=lambda _: None, timeout_s=10
    )
    assert (result.exit_code, result.output) == (0, b"")


async def test_timeout_kills_the_whole_process_group(tmp_path: Path, env: dict[str, str]) -> None:
    chunks: list[bytes] = []
    started = time.monotonic()
    result = await run_process(
        ["bash", "-c", "sleep 100 & echo $!; sleep 100"],
        cwd=tmp_path,
        env=env,
        on_output=chunks.append,
        timeout_s=0.5,
    )
    assert result.timed_out
    assert time.monotonic() - started < 5
    assert result.exit_code == 128 + 15  # SIGTERM
    grandchild = int(b"".join(chunks).split()[0])
    assert await wait_gone([result.pid, grandchild]) == []


async def test_cancellation_kills_child_and_grandchildren(
    tmp_path: Path, env: dict[str, str]
) -> None:
    output = bytearray()
    task = asyncio.create_task(
        run_process(
            ["bash", "-c", "sleep 100 & echo $!; sleep 100 & echo $!; echo $$; wait"],
            cwd=tmp_path,
            env=env,
            on_output=output.extend,
            timeout_s=None,
        )
    )
    await wait_for(lambda: output.count(b"\n") >= 3)
    pids = [int(word) for word in output.split()]
    assert all(not pid_gone(pid) for pid in pids)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Killed and reaped before the cancellation propagated: nothing is left, not even a zombie
    # of the child (the grandchildren are re-parented, so give their new parent a moment).
    assert pid_gone(pids[2])
    assert await wait_gone(pids) == []


@pytest.mark.skipif(BWRAP is None, reason="bubblewrap not installed")
async def test_cancellation_kills_a_sandboxed_command_and_its_children(
    tmp_path: Path, env: dict[str, str]
) -> None:
    assert BWRAP is not None
    marker = f"{100 + os.getpid() % 1000}.{time.monotonic_ns() % 10**6}"
    output = bytearray()
    argv = [BWRAP, "--ro-bind", "/", "/", "--dev", "/dev", "--unshare-pid", "--die-with-parent"]
    argv += ["--proc", "/proc", "--", "bash", "-c", f"sleep {marker} & echo up; wait"]
    task = asyncio.create_task(
        run_process(argv, cwd=tmp_path, env=env, on_output=output.extend, timeout_s=None)
    )
    await wait_for(lambda: b"up" in output and bool(pids_with_arg(marker)))
    sleepers = pids_with_arg(marker)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_gone(sleepers) == []


async def test_aggregated_output_keeps_head_and_tail_when_over_the_cap(
    tmp_path: Path, env: dict[str, str]
) -> None:
    streamed = 0

    def on_output(chunk: bytes) -> None:
        nonlocal streamed
        streamed += len(chunk)

    script = "echo START; head -c 3000000 /dev/zero | tr '\\0' a; echo; echo END"
    result = await run_process(
        ["bash", "-c", script], cwd=tmp_path, env=env, on_output=on_output, timeout_s=30
    )
    assert streamed == len("START\n") + 3_000_000 + len("\nEND\n")  # streaming is not capped
    assert len(result.output) == AGGREGATED_OUTPUT_MAX_BYTES
    assert result.output.startswith(b"START\naaaa")
    assert result.output.endswith(b"aaaa\nEND\n")


async def test_missing_executable_raises_file_not_found(
    tmp_path: Path, env: dict[str, str]
) -> None:
    with pytest.raises(FileNotFoundError):
        await run_process(
            [str(tmp_path / "nope")], cwd=tmp_path, env=env, on_output=lambda _: None, timeout_s=5
        )


async def test_failing_output_callback_kills_the_command(
    tmp_path: Path, env: dict[str, str]
) -> None:
    seen = bytearray()

    def on_output(chunk: bytes) -> None:
        seen.extend(chunk)
        raise RuntimeError("listener broke")

    with pytest.raises(RuntimeError, match="listener broke"):
        await run_process(
            ["bash", "-c", "echo $$; exec sleep 100"],
            cwd=tmp_path,
            env=env,
            on_output=on_output,
            timeout_s=None,
        )
    assert pid_gone(int(seen.split()[0]))


# --- shell argv and display -------------------------------------------------------------------


async def test_login_shell_runs_the_command_with_home_from_env(
    tmp_path: Path, env: dict[str, str]
) -> None:
    result = await run_process(
        shell_argv('echo "$HOME"; shopt -q login_shell && echo login', "/bin/bash", login=True),
        cwd=tmp_path,
        env=env,
        on_output=lambda _: None,
        timeout_s=10,
    )
    assert result.output.decode() == f"{env['HOME']}\nlogin\n"


def test_shell_argv_uses_lc_for_login_and_c_otherwise() -> None:
    assert shell_argv("echo hi", "/bin/zsh", login=True) == ["/bin/zsh", "-lc", "echo hi"]
    assert shell_argv("echo hi", "/bin/zsh", login=False) == ["/bin/zsh", "-c", "echo hi"]


def test_shell_argv_defaults_to_shell_env_then_bash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELL", "/usr/bin/fish")
    assert shell_argv("ls")[0] == "/usr/bin/fish"
    monkeypatch.delenv("SHELL")
    assert shell_argv("ls") == ["/bin/bash", "-lc", "ls"]


def test_display_command_quotes_like_codex() -> None:
    assert display_command(["/bin/bash", "-lc", "echo hi"]) == "/bin/bash -lc 'echo hi'"
    assert (
        display_command(["/bin/bash", "-lc", "touch /tmp/p/t.txt && echo touched"])
        == "/bin/bash -lc 'touch /tmp/p/t.txt && echo touched'"
    )
    # Rust shlex: `=` and `,` need quotes, a single quote forces double quotes, "" is ''.
    assert (
        display_command(["rg", "--colors=never", "1,10p", ""]) == "rg '--colors=never' '1,10p' ''"
    )
    assert display_command(["bash", "-lc", "echo 'a b'"]) == "bash -lc \"echo 'a b'\""
    assert display_command(["echo", "it's $HOME"]) == "echo \"it's \"'$HOME'"


# --- sessions ---------------------------------------------------------------------------------


async def test_short_command_finishes_within_its_first_yield(
    tmp_path: Path, env: dict[str, str]
) -> None:
    sessions = BackgroundTerminals()
    chunk = await sessions.start(["bash", "-c", "echo hi"], tmp_path, env, yield_time_ms=5000)
    assert (chunk.output, chunk.exit_code, chunk.session_id) == (b"hi\n", 0, None)
    assert chunk.wall_time_s < 2
    assert chunk.original_token_estimate == 1
    assert len(sessions) == 0


async def test_command_outliving_its_yield_becomes_a_session(
    tmp_path: Path, env: dict[str, str]
) -> None:
    sessions = BackgroundTerminals()
    chunk = await sessions.start(
        ["bash", "-c", "echo first; sleep 1; echo second"], tmp_path, env, yield_time_ms=250
    )
    assert chunk.output == b"first\n"
    assert chunk.exit_code is None
    assert chunk.session_id is not None
    assert chunk.session_id == chunk.process_id
    assert 0.2 <= chunk.wall_time_s < 1
    assert sessions.terminal_ids() == [chunk.session_id]
    await sessions.close_all()


@pytest.mark.parametrize("yields", range(8))
async def test_a_start_cancelled_at_any_point_leaves_no_process_running(
    tmp_path: Path, env: dict[str, str], yields: int
) -> None:
    """An interrupt can land while asyncio still wires the new process's pipes (before the
    terminal is known): whatever the process started by then is killed all the same."""
    marker = f"100.{os.getpid()}{yields}"
    sessions = BackgroundTerminals()
    task = asyncio.create_task(
        sessions.start(
            ["bash", "-c", f"sleep {marker} & (sleep {marker} &); sleep {marker}; wait"],
            tmp_path,
            env,
            yield_time_ms=30000,
        )
    )
    for _ in range(yields):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.3)  # what had not started yet when it was killed never starts
    await wait_for(lambda: pids_with_arg(marker) == [])
    assert len(sessions) == 0


async def test_session_ids_are_small_increasing_ints(tmp_path: Path, env: dict[str, str]) -> None:
    sessions = BackgroundTerminals()
    first = await sessions.start(["sleep", "5"], tmp_path, env, yield_time_ms=250)
    second = await sessions.start(["sleep", "5"], tmp_path, env, yield_time_ms=250)
    assert first.session_id is not None
    assert second.session_id == first.session_id + 1
    await sessions.close_all()


async def test_polling_a_session_reports_its_output_and_exit_code(
    tmp_path: Path, env: dict[str, str]
) -> None:
    sessions = BackgroundTerminals()
    chunk = await sessions.start(
        ["bash", "-c", "echo first; sleep 0.5; echo second; exit 5"],
        tmp_path,
        env,
        yield_time_ms=250,
    )
    assert chunk.session_id is not None
    started = time.monotonic()
    polled = await sessions.write_stdin(chunk.session_id, "", yield_time_ms=30_000)
    assert time.monotonic() - started < 5  # returned at the exit, not at the yield
    assert (polled.output, polled.exit_code, polled.session_id) == (b"second\n", 5, None)
    assert polled.process_id == chunk.session_id
    assert len(sessions) == 0


async def test_write_stdin_to_cat_in_a_tty_echoes(tmp_path: Path, env: dict[str, str]) -> None:
    sessions = BackgroundTerminals()
    chunk = await sessions.start(["cat"], tmp_path, env, yield_time_ms=250, tty=True)
    assert chunk.session_id is not None
    echoed = await sessions.write_stdin(chunk.session_id, "hello\n", yield_time_ms=500)
    # The terminal echoes the input line, then cat writes it back.
    assert echoed.output == b"hello\r\nhello\r\n"
    assert echoed.session_id == chunk.session_id
    ended = await sessions.write_stdin(chunk.session_id, "\x04", yield_time_ms=2000)  # Ctrl-D
    assert (ended.exit_code, ended.session_id) == (0, None)


async def test_tty_session_runs_in_a_pseudo_terminal(tmp_path: Path, env: dict[str, str]) -> None:
    sessions = BackgroundTerminals()
    chunk = await sessions.start(["tty"], tmp_path, env, yield_time_ms=2000, tty=True)
    assert chunk.exit_code == 0
    assert chunk.output.startswith(b"/dev/pts/")


async def test_pipe_session_has_no_terminal(tmp_path: Path, env: dict[str, str]) -> None:
    sessions = BackgroundTerminals()
    chunk = await sessions.start(["tty"], tmp_path, env, yield_time_ms=2000)
    assert (chunk.exit_code, chunk.output) == (1, b"not a tty\n")


async def test_writing_to_a_non_tty_session_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    sessions = BackgroundTerminals()
    chunk = await sessions.start(["sleep", "5"], tmp_path, env, yield_time_ms=250)
    assert chunk.session_id is not None
    with pytest.raises(StdinClosed, match="rerun exec_command with tty=true"):
        await sessions.write_stdin(chunk.session_id, "input\n")
    await sessions.close_all()


async def test_unknown_session_is_a_clear_error(env: dict[str, str]) -> None:
    sessions = BackgroundTerminals()
    with pytest.raises(UnknownTerminal, match="Unknown process id 4242"):
        await sessions.write_stdin(4242, "")


async def test_exited_session_is_forgotten_once_polled(tmp_path: Path, env: dict[str, str]) -> None:
    sessions = BackgroundTerminals()
    chunk = await sessions.start(["sleep", "0.4"], tmp_path, env, yield_time_ms=250)
    assert chunk.session_id is not None
    await sessions.write_stdin(chunk.session_id, "", yield_time_ms=5000)
    with pytest.raises(UnknownTerminal):
        await sessions.write_stdin(chunk.session_id, "")


async def test_close_all_kills_every_session(tmp_path: Path, env: dict[str, str]) -> None:
    sessions = BackgroundTerminals()
    pids = []
    for tty in (False, True):
        chunk = await sessions.start(
            ["bash", "-c", "sleep 100 & echo $!; wait"], tmp_path, env, yield_time_ms=250, tty=tty
        )
        assert chunk.session_id is not None
        assert chunk.pid is not None
        pids += [chunk.pid, int(chunk.output.split()[0])]
    await sessions.close_all()
    assert len(sessions) == 0
    assert await wait_gone(pids) == []


async def test_session_output_streams_between_polls(tmp_path: Path, env: dict[str, str]) -> None:
    streamed = bytearray()
    sessions = BackgroundTerminals()
    chunk = await sessions.start(
        ["bash", "-c", "sleep 0.3; echo later"],
        tmp_path,
        env,
        yield_time_ms=250,
        on_output=streamed.extend,
    )
    assert chunk.session_id is not None
    await wait_for(lambda: b"later" in streamed)
    await sessions.close_all()


async def test_on_exit_reports_a_background_sessions_end(
    tmp_path: Path, env: dict[str, str]
) -> None:
    ended: list[ExecExit] = []
    sessions = BackgroundTerminals()
    chunk = await sessions.start(
        ["bash", "-c", "echo a; sleep 0.4; echo b; exit 3"],
        tmp_path,
        env,
        yield_time_ms=250,
        on_exit=ended.append,
    )
    await wait_for(lambda: bool(ended))
    assert ended[0].process_id == chunk.process_id
    assert (ended[0].exit_code, ended[0].aggregated_output) == (3, b"a\nb\n")
    assert ended[0].duration_s >= 0.35
    await sessions.close_all()


async def test_cancelling_start_kills_the_command(tmp_path: Path, env: dict[str, str]) -> None:
    output = bytearray()
    sessions = BackgroundTerminals()
    task = asyncio.create_task(
        sessions.start(
            ["bash", "-c", "echo $$; sleep 100"],
            tmp_path,
            env,
            yield_time_ms=30_000,
            on_output=output.extend,
        )
    )
    await wait_for(lambda: b"\n" in output)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pid_gone(int(output.split()[0]))
    assert len(sessions) == 0


async def test_session_cap_prunes_the_least_recently_used(
    tmp_path: Path, env: dict[str, str]
) -> None:
    sessions = BackgroundTerminals(max_terminals=2)
    chunks = [await sessions.start(["sleep", "100"], tmp_path, env, 250) for _ in range(3)]
    assert sessions.terminal_ids() == [c.session_id for c in chunks[1:]]
    assert chunks[0].pid is not None
    assert await wait_gone([chunks[0].pid]) == []
    await sessions.close_all()


async def test_yield_time_is_clamped_to_at_least_250_ms(
    tmp_path: Path, env: dict[str, str]
) -> None:
    sessions = BackgroundTerminals()
    chunk = await sessions.start(["sleep", "5"], tmp_path, env, yield_time_ms=1)
    assert chunk.wall_time_s >= 0.24
    await sessions.close_all()


# --- spawn overhead ---------------------------------------------------------------------------


async def measure_spawn_overhead(
    cwd: Path, env: dict[str, str], runs: int = 50
) -> dict[str, float]:
    """Mean milliseconds to run `true`: `subprocess.run`, `run_process`, `run_process` under
    bubblewrap (read-only sandbox flags) and an `BackgroundTerminals.start` (when bwrap is missing,
    the bwrap figure is NaN)."""

    async def timed(run: Callable[[], object]) -> float:
        started = time.perf_counter()
        for _ in range(runs):
            outcome = run()
            if asyncio.iscoroutine(outcome):
                await outcome
        return (time.perf_counter() - started) / runs * 1000

    true = shutil.which("true") or "/bin/true"
    sandboxed = [BWRAP or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--unshare-pid"]
    sandboxed += ["--unshare-net", "--die-with-parent", "--proc", "/proc", "--", true]
    sessions = BackgroundTerminals()
    return {
        "subprocess.run": await timed(lambda: subprocess.run([true], check=True)),
        "run_process": await timed(
            lambda: run_process([true], cwd=cwd, env=env, on_output=lambda _: None, timeout_s=10)
        ),
        "run_process+bwrap": (
            await timed(
                lambda: run_process(
                    sandboxed, cwd=cwd, env=env, on_output=lambda _: None, timeout_s=10
                )
            )
            if BWRAP
            else float("nan")
        ),
        "BackgroundTerminals.start": await timed(lambda: sessions.start([true], cwd, env, 5000)),
    }


async def test_spawn_overhead_benchmark(tmp_path: Path, env: dict[str, str]) -> None:
    figures = await measure_spawn_overhead(tmp_path, env)
    print(
        "\nspawn `true`, mean ms: "
        + ", ".join(f"{name} {value:.2f}" for name, value in figures.items()),
        file=sys.stderr,
    )
    assert figures["run_process"] < 1000
