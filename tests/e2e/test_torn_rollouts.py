"""A rollout cut short at any byte, as a crash or a lost disk cache leaves it, still reads,
resumes and takes new turns: the completed turns before the cut are all there, nothing errors.

One real thread (a reasoning turn, then a turn whose shell command runs) is written by a real
server. Its rollout is then cut at every line boundary and in the middle of every line, each cut
saved as a thread of its own (the same bytes under a new id), and one fresh server is asked to
list, read, resume and continue every one of them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import start_thread, tool_client, turn
from tests.support.turn_env import MODEL_ENV

INDEX = "state_app_server_2.sqlite"
CONTINUED_EVERY = 3
"""Every 3rd cut (line ends and middles alike) also takes a new turn after its resume, and is
read again by a third server: each one is a model round trip."""


@dataclass(frozen=True)
class Cut:
    """A copy of the rollout cut at `offset` bytes, stored as thread `thread_id`."""

    thread_id: str
    offset: int
    completed_turns: frozenset[str]


def completed_turn_ends(rollout: bytes) -> list[tuple[int, str]]:
    """(end offset of its line, turn id) of every `task_complete` event in the rollout."""
    ends: list[tuple[int, str]] = []
    offset = 0
    for line in rollout.splitlines(keepends=True):
        offset += len(line)
        record = orjson.loads(line)
        payload = record.get("payload", {})
        if record.get("type") == "event_msg" and payload.get("type") == "task_complete":
            ends.append((offset, payload["turn_id"]))
    return ends


def first_user_message_end(rollout: bytes) -> int:
    """The end offset of the first user message's `item_completed` event: a thread is listed
    from there on (before it, it has no preview, and codex lists no thread without one)."""
    offset = 0
    for line in rollout.splitlines(keepends=True):
        offset += len(line)
        record = orjson.loads(line)
        payload = record.get("payload", {})
        if payload.get("type") == "item_completed" and payload["item"]["type"] == "UserMessage":
            return offset
    raise AssertionError("the rollout has no user message")


def cut_offsets(rollout: bytes) -> list[int]:
    """Every line boundary after the first line (the session meta) and every line's middle."""
    offsets: list[int] = []
    start = 0
    for index, line in enumerate(rollout.splitlines(keepends=True)):
        end = start + len(line)
        if index > 0:
            offsets.append(start + len(line) // 2)
        offsets.append(end)
        start = end
    return offsets


def write_cuts(rollout_path: Path, thread_id: str) -> list[Cut]:
    """Save every cut of the rollout as its own thread beside it; remove the original."""
    rollout = rollout_path.read_bytes()
    ends = completed_turn_ends(rollout)
    cuts: list[Cut] = []
    for offset in cut_offsets(rollout):
        new_id = str(uuid.uuid4())
        body = rollout[:offset].replace(thread_id.encode(), new_id.encode())
        target = rollout_path.with_name(rollout_path.name.replace(thread_id, new_id))
        target.write_bytes(body)
        done = frozenset(turn_id for end, turn_id in ends if end <= offset)
        cuts.append(Cut(new_id, offset, done))
    rollout_path.unlink()
    return cuts


async def test_a_rollout_cut_at_any_byte_reads_resumes_and_continues(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply.text("first answer", deltas=3, reasoning_summary=["thinking"]),
        Reply.function_call("exec_command", {"cmd": "echo torn-test"}, call_id="call_1"),
        Reply.text("second answer", deltas=2),
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    assert (await turn(client, thread_id, "one"))["status"] == "completed"
    assert (await turn(client, thread_id, "two"))["status"] == "completed"
    read = await client.call("thread/read", {"threadId": thread_id})
    rollout_path = Path(read["thread"]["path"])
    await client.close()
    await servers.processes[-1].wait()

    first_message_end = first_user_message_end(rollout_path.read_bytes())
    cuts = write_cuts(rollout_path, thread_id)
    assert len(cuts[-1].completed_turns) == 2, "the last cut is the whole file"
    for suffix in ("", "-wal", "-shm"):
        (servers.dirs.data_dir / (INDEX + suffix)).unlink(missing_ok=True)
    continued = [cut for number, cut in enumerate(cuts) if number % CONTINUED_EVERY == 0]
    model_server.enqueue(*(Reply.text("after the crash") for _ in continued))

    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize()
    listed = await again.call("thread/list", {"limit": 100})
    with_a_message = {cut.thread_id for cut in cuts if cut.offset >= first_message_end}
    assert {t["id"] for t in listed["data"]} == with_a_message, "listed once a message is in"
    for cut in cuts:
        thread = (
            await again.call("thread/read", {"threadId": cut.thread_id, "includeTurns": True})
        )["thread"]
        shown = {t["id"] for t in thread["turns"] if t["status"] == "completed"}
        assert cut.completed_turns <= shown, f"cut at byte {cut.offset}"
        resumed = (await again.call("thread/resume", {"threadId": cut.thread_id}))["thread"]
        statuses = {t["id"]: t["status"] for t in resumed["turns"]}
        assert cut.completed_turns <= {i for i, s in statuses.items() if s == "completed"}
        assert set(statuses.values()) <= {"completed", "interrupted"}, f"cut at {cut.offset}"
    new_turns: dict[str, str] = {}
    for cut in continued:
        finished = await turn(again, cut.thread_id, "again")
        assert finished["status"] == "completed", f"cut at byte {cut.offset}"
        new_turns[cut.thread_id] = finished["id"]
    await again.close()
    await servers.processes[-1].wait()

    third = await servers.stdio(env=MODEL_ENV)
    await third.initialize()
    for cut in continued:
        thread = (
            await third.call("thread/read", {"threadId": cut.thread_id, "includeTurns": True})
        )["thread"]
        completed = {t["id"] for t in thread["turns"] if t["status"] == "completed"}
        expected = cut.completed_turns | {new_turns[cut.thread_id]}
        assert expected <= completed, f"cut at byte {cut.offset}, then a turn, then a restart"


@pytest.mark.parametrize("fraction", [0.3, 0.55, 0.8, 0.97])
async def test_a_rollout_shorter_than_its_index_entry_reads_resumes_and_continues(
    servers: Servers, model_server: ModelServer, tmp_path: Path, fraction: float
) -> None:
    """The index (a cache written after the file) may know of bytes a power loss took from the
    file: the file wins, and the thread goes on from what it holds."""
    model_server.enqueue(
        Reply.text("first answer", deltas=3, reasoning_summary=["thinking"]),
        Reply.function_call("exec_command", {"cmd": "echo torn-test"}, call_id="call_1"),
        Reply.text("second answer", deltas=2),
        Reply.text("after the loss"),
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id, "one")
    await turn(client, thread_id, "two")
    read = await client.call("thread/read", {"threadId": thread_id})
    rollout_path = Path(read["thread"]["path"])
    await client.close()
    await servers.processes[-1].wait()
    rollout = rollout_path.read_bytes()
    offset = int(len(rollout) * fraction)
    rollout_path.write_bytes(rollout[:offset])
    completed_before = {turn_id for end, turn_id in completed_turn_ends(rollout) if end <= offset}

    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize()
    resumed = (await again.call("thread/resume", {"threadId": thread_id}))["thread"]
    statuses = {t["id"]: t["status"] for t in resumed["turns"]}
    assert completed_before <= {i for i, s in statuses.items() if s == "completed"}
    assert set(statuses.values()) <= {"completed", "interrupted"}
    listed = await again.call("thread/turns/list", {"threadId": thread_id, "limit": 10})
    assert [t["id"] for t in listed["data"]] == [t["id"] for t in reversed(resumed["turns"])]
    new_turn = await turn(again, thread_id, "again")
    assert new_turn["status"] == "completed"
    await again.close()
    await servers.processes[-1].wait()

    third = await servers.stdio(env=MODEL_ENV)
    await third.initialize()
    read = (await third.call("thread/read", {"threadId": thread_id, "includeTurns": True}))[
        "thread"
    ]
    completed = {t["id"] for t in read["turns"] if t["status"] == "completed"}
    assert completed_before | {new_turn["id"]} <= completed
    paged = await third.call("thread/turns/list", {"threadId": thread_id, "limit": 1})
    assert paged["data"][0]["id"] == new_turn["id"], "the newest turn pages first"
