"""`review/start`: codex 0.169's code review, run inline on a thread against a real git
repository, the reviewer being the fake model answering with codex's review JSON. Every answer
and notification is checked against the upstream schema by the test client."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from app_server.agent.instructions import review_instructions
from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import (
    method_order,
    read_after_restart,
    start_thread,
    tool_client,
    turn,
)

INVALID_REQUEST = -32600
INTERNAL_ERROR = -32603

FINDING = {
    "title": "[P1] Off by one",
    "body": "The loop skips the last element.\nIt should include it.",
    "confidence_score": 0.8,
    "priority": 1,
    "code_location": {"absolute_file_path": "/repo/a.py", "line_range": {"start": 2, "end": 3}},
}
REVIEW = {
    "findings": [FINDING],
    "overall_correctness": "patch is incorrect",
    "overall_explanation": "One bug found.",
    "overall_confidence_score": 0.7,
}
RENDERED = (
    "One bug found.\n\nReview comment:\n\n- [P1] Off by one — /repo/a.py:2-3\n"
    "  The loop skips the last element.\n  It should include it."
)


def git(cwd: Path, *args: str) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def make_repo(root: Path) -> Path:
    """`main` with one commit, `feature` with one more, and uncommitted changes on top."""
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.py").write_text("x = 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "a.py").write_text("x = 2\n")
    git(repo, "commit", "-q", "-am", "second: change x")
    (repo / "a.py").write_text("x = 3\n")
    (repo / "new.txt").write_text("untracked\n")
    return repo


async def review(
    client: RpcClient, thread_id: str, target: dict[str, Any], **params: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start a review and wait for its `turn/completed`: (the response, the completed turn)."""
    result = await client.call("review/start", {"threadId": thread_id, "target": target, **params})
    turn_id = result["turn"]["id"]
    completed = await client.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id, timeout=30
    )
    finished: dict[str, Any] = completed["params"]["turn"]
    return result, finished


def notifications_of(client: RpcClient, method: str, since: int = 0) -> list[dict[str, Any]]:
    return [m["params"] for m in client.received[since:] if m.get("method") == method]


def reviewer_prompt(model_server: ModelServer, index: int = 0) -> str:
    last = model_server.requests[index].body["input"][-1]
    text: str = last["content"][0]["text"]
    return text


async def test_review_answers_with_the_review_turn_before_it_runs(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, repo)
    model_server.enqueue(Reply.text(json.dumps(REVIEW)))

    result, finished = await review(client, thread_id, {"type": "uncommittedChanges"})

    turn_id = result["turn"]["id"]
    assert result["reviewThreadId"] == thread_id
    assert result["turn"]["status"] == "inProgress"
    assert (result["turn"]["rootTurnId"], result["turn"]["startedAt"]) == (None, None)
    assert result["turn"]["itemsView"] == "notLoaded"
    (item,) = result["turn"]["items"]
    assert (item["type"], item["id"]) == ("userMessage", turn_id)
    assert item["content"] == [{"type": "text", "text": "current changes", "text_elements": []}]
    assert (finished["status"], finished["rootTurnId"], finished["itemsView"]) == (
        "completed",
        turn_id,
        "summary",
    )
    assert [(i["type"], i["text"]) for i in finished["items"]] == [("agentMessage", RENDERED)]


async def test_review_notifications_come_in_codex_order(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, repo)
    model_server.enqueue(Reply.text(json.dumps(REVIEW)))
    since = len(client.received)

    result, _ = await review(client, thread_id, {"type": "uncommittedChanges"})

    methods = {
        "thread/status/changed",
        "turn/started",
        "item/started",
        "item/completed",
        "item/agentMessage/delta",
        "thread/tokenUsage/updated",
        "account/rateLimits/updated",
        "thread/readState/changed",
        "turn/completed",
    }
    kinds = [
        f"{m['method']}:{m['params']['item']['type']}" if "item" in m["params"] else m["method"]
        for m in client.received[since:]
        if m.get("method") in methods
    ]
    assert kinds == [
        "item/started:enteredReviewMode",
        "item/completed:enteredReviewMode",
        "thread/status/changed",
        "turn/started",
        "item/started:userMessage",
        "item/completed:userMessage",
        "item/started:agentMessage",
        "item/started:exitedReviewMode",
        "item/completed:exitedReviewMode",
        "item/started:agentMessage",
        "item/completed:agentMessage",
        "thread/readState/changed",
        "thread/status/changed",
        "turn/completed",
    ]
    turn_id = result["turn"]["id"]
    (started,) = notifications_of(client, "turn/started", since)
    assert started["turn"]["id"] != turn_id  # the reviewer's sub-turn, as codex announces it
    assert started["turn"]["rootTurnId"] == turn_id
    items = notifications_of(client, "item/completed", since)
    assert {i["turnId"] for i in items} == {turn_id}
    entered, prompt, exited, answer = (i["item"] for i in items)
    assert entered["review"] == "current changes"
    assert prompt["content"][0]["text"].startswith("Review the current code changes")
    assert exited["review"] == RENDERED
    assert answer["text"] == RENDERED
    assert answer["id"].startswith("msg_")


async def test_reviewer_gets_the_rubric_a_read_only_context_and_the_prompt(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, repo)
    model_server.enqueue(Reply.text(json.dumps(REVIEW)))

    await review(client, thread_id, {"type": "uncommittedChanges"})

    (request,) = model_server.requests
    body = request.body
    assert body["instructions"] == review_instructions()
    assert [t["name"] for t in body["tools"]] == ["exec_command", "write_stdin", "view_image"]
    roles = [item["role"] for item in body["input"]]
    assert roles == ["developer", "user", "user"]
    permissions = body["input"][0]["content"][0]["text"]
    assert permissions.startswith("<permissions instructions>")
    assert "Never ask for approval" in permissions
    assert body["input"][1]["content"][0]["text"].startswith("<environment_context>")
    assert body["input"][2]["content"][0]["text"] == (
        "Review the current code changes (staged, unstaged, and untracked files) and provide "
        "prioritized findings."
    )


async def test_reviewer_requests_are_tagged_as_codex_tags_its_review_sub_agent(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    model_server.enqueue(Reply.text(json.dumps(REVIEW)))

    result, _ = await review(client, thread_id, {"type": "uncommittedChanges"})

    (request,) = model_server.requests
    assert request.headers["x-openai-subagent"] == "review"
    assert request.headers["x-codex-parent-thread-id"] == thread_id
    metadata = json.loads(request.headers["x-codex-turn-metadata"])
    assert (metadata["subagent_kind"], metadata["thread_source"]) == ("review", "subagent")
    assert metadata["parent_turn_id"] == metadata["root_turn_id"] == result["turn"]["id"]
    assert metadata["turn_id"] != result["turn"]["id"]
    assert metadata["context_window_id"]


async def test_base_branch_review_names_the_merge_base(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    base = git(repo, "merge-base", "HEAD", "main")
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, repo)
    model_server.enqueue(Reply.text(json.dumps(REVIEW)))

    result, _ = await review(client, thread_id, {"type": "baseBranch", "branch": "main"})

    assert result["turn"]["items"][0]["content"][0]["text"] == "changes against 'main'"
    assert reviewer_prompt(model_server) == (
        f"Review the code changes against the base branch 'main'. The merge base commit for "
        f"this comparison is {base}. Run `git diff {base}` to inspect the changes relative to "
        "main. Provide prioritized, actionable findings."
    )


async def test_base_branch_review_outside_a_repository_lets_the_model_find_the_merge_base(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    model_server.enqueue(Reply.text(json.dumps(REVIEW)))

    _, finished = await review(client, thread_id, {"type": "baseBranch", "branch": "main"})

    assert finished["status"] == "completed"
    prompt = reviewer_prompt(model_server)
    assert prompt.startswith("Review the code changes against the base branch 'main'. Start by")
    assert '"main@{upstream}"' in prompt


async def test_commit_review_shows_the_short_sha_and_title(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    sha = git(repo, "rev-parse", "HEAD")
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, repo)
    model_server.enqueue(Reply.text(json.dumps(REVIEW)))

    target = {"type": "commit", "sha": sha, "title": "second: change x"}
    result, _ = await review(client, thread_id, target)

    hint = result["turn"]["items"][0]["content"][0]["text"]
    assert hint == f"commit {sha[:7]}: second: change x"
    assert reviewer_prompt(model_server) == (
        f'Review the code changes introduced by commit {sha} ("second: change x"). '
        "Provide prioritized, actionable findings."
    )


async def test_custom_review_uses_the_trimmed_instructions(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    model_server.enqueue(Reply.text(json.dumps(REVIEW)))

    target = {"type": "custom", "instructions": "  Check the math in a.py\n"}
    result, _ = await review(client, thread_id, target)

    assert result["turn"]["items"][0]["content"][0]["text"] == "Check the math in a.py"
    assert reviewer_prompt(model_server) == "Check the math in a.py"


async def test_empty_targets_are_refused_and_start_nothing(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    since = len(client.received)

    refusals = []
    for target in (
        {"type": "custom", "instructions": "  \n"},
        {"type": "baseBranch", "branch": ""},
        {"type": "commit", "sha": " "},
    ):
        reply = await client.request("review/start", {"threadId": thread_id, "target": target})
        assert reply.error is not None
        refusals.append((reply.error["code"], reply.error["message"]))

    assert refusals == [
        (INVALID_REQUEST, "instructions must not be empty"),
        (INVALID_REQUEST, "branch must not be empty"),
        (INVALID_REQUEST, "sha must not be empty"),
    ]
    await asyncio.sleep(0.2)
    assert not notifications_of(client, "turn/started", since)
    assert not model_server.requests


async def test_a_plain_text_review_becomes_its_explanation(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    model_server.enqueue(Reply.text("Looks fine to me."))

    _, finished = await review(client, thread_id, {"type": "uncommittedChanges"})

    assert finished["items"][0]["text"] == "Looks fine to me."


async def test_a_review_reads_back_after_restart_as_its_three_items(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, repo)
    model_server.enqueue(Reply.text(json.dumps(REVIEW)))
    result, _ = await review(client, thread_id, {"type": "uncommittedChanges"})

    (read,) = await read_after_restart(servers, client, thread_id)

    assert (read["id"], read["status"]) == (result["turn"]["id"], "completed")
    assert [(i["type"], i.get("review", i.get("text"))) for i in read["items"]] == [
        ("enteredReviewMode", "current changes"),
        ("exitedReviewMode", RENDERED),
        ("agentMessage", RENDERED),
    ]


async def test_the_next_turn_sees_the_review_and_opens_the_context(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, repo)
    model_server.enqueue(Reply.text(json.dumps(REVIEW)), Reply.text("fixing it"))
    await review(client, thread_id, {"type": "uncommittedChanges"})

    await turn(client, thread_id, "fix the first one")

    follow_up = model_server.requests[1].body["input"]
    texts = [(item["role"], item["content"][0]["text"]) for item in follow_up]
    assert texts[0][0] == "user"
    assert texts[0][1].startswith("<user_action>\n  <context>User initiated a review task.")
    assert "  One bug found.\n\nReview comment:\n\n- [P1] Off by one" in texts[0][1]
    assert texts[1] == ("assistant", RENDERED)
    assert texts[2][0] == "developer"
    assert texts[2][1].startswith("<permissions instructions>")
    assert texts[3][1].startswith("<environment_context>")
    assert texts[4] == ("user", "fix the first one")


async def test_turn_start_during_a_review_is_refused_and_interrupt_ends_it_as_codex(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(Reply.text(json.dumps(REVIEW)).hang_after(1, release, reached))
    result = await client.call(
        "review/start", {"threadId": thread_id, "target": {"type": "uncommittedChanges"}}
    )
    turn_id = result["turn"]["id"]
    await asyncio.wait_for(reached.wait(), 10)

    reply = await client.request(
        "turn/start",
        {"threadId": thread_id, "input": [{"type": "text", "text": "x", "text_elements": []}]},
    )
    assert reply.error is not None
    refused = (reply.error["code"], reply.error["message"])
    await client.call("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})
    completed = await client.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id, timeout=30
    )
    release.set()

    assert refused == (
        INTERNAL_ERROR,
        "failed to submit turn input: ActiveTurnNotSteerable { turn_kind: Review }",
    )
    assert completed["params"]["turn"]["status"] == "interrupted"
    finished = [m["params"]["item"] for m in client.received if m.get("method") == "item/completed"]
    assert finished[-2]["type"] == "exitedReviewMode"
    assert finished[-2]["review"] == "Reviewer failed to output a response."
    assert finished[-1]["text"] == (
        "Review was interrupted. Please re-run /review and wait for it to complete."
    )
    assert method_order(client, {"turn/completed"}) == ["turn/completed"]


async def test_a_review_started_on_a_busy_thread_interrupts_its_turn_then_runs(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(
        Reply.text("slow answer").hang_after(1, release, reached), Reply.text(json.dumps(REVIEW))
    )
    started = await client.call(
        "turn/start",
        {"threadId": thread_id, "input": [{"type": "text", "text": "x", "text_elements": []}]},
    )
    await asyncio.wait_for(reached.wait(), 10)
    since = len(client.received)

    result, finished = await review(client, thread_id, {"type": "uncommittedChanges"})
    release.set()

    completed = notifications_of(client, "turn/completed", since)
    assert [(t["turn"]["id"], t["turn"]["status"]) for t in completed] == [
        (started["turn"]["id"], "interrupted"),
        (result["turn"]["id"], "completed"),
    ]
    assert finished["items"][0]["text"] == RENDERED
    read = await client.call("thread/read", {"threadId": thread_id})
    lines = Path(read["thread"]["path"]).read_text().splitlines()
    events = [json.loads(line)["payload"] for line in lines]
    (aborted,) = [e for e in events if e.get("type") == "turn_aborted"]
    assert (aborted["turn_id"], aborted["reason"]) == (started["turn"]["id"], "replaced")
    assert not any("<turn_aborted>" in json.dumps(e) for e in events)


async def test_a_review_can_be_interrupted_by_its_announced_sub_turn_id(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(Reply.text(json.dumps(REVIEW)).hang_after(1, release, reached))
    result = await client.call(
        "review/start", {"threadId": thread_id, "target": {"type": "uncommittedChanges"}}
    )
    announced = await client.wait_notification("turn/started")
    await asyncio.wait_for(reached.wait(), 10)

    sub_turn_id = announced["params"]["turn"]["id"]
    await client.call("turn/interrupt", {"threadId": thread_id, "turnId": sub_turn_id})
    completed = await client.wait_notification("turn/completed", timeout=30)
    release.set()

    assert sub_turn_id != result["turn"]["id"]
    assert completed["params"]["turn"]["id"] == result["turn"]["id"]
    assert completed["params"]["turn"]["status"] == "interrupted"


async def test_a_legacy_thread_reads_its_review_back_too(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path, historyMode="legacy")
    model_server.enqueue(Reply.text(json.dumps(REVIEW)))
    await review(client, thread_id, {"type": "custom", "instructions": "look"})

    (read,) = await read_after_restart(servers, client, thread_id)

    assert [(i["type"], i.get("review", i.get("text"))) for i in read["items"]] == [
        ("enteredReviewMode", "look"),
        ("exitedReviewMode", RENDERED),
        ("agentMessage", RENDERED),
    ]


async def test_the_reviewer_runs_commands_read_only_under_the_review_turn(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, repo)  # the thread itself may write anywhere
    model_server.enqueue(
        Reply.function_call(
            "exec_command", {"cmd": "git diff --stat; touch written.txt"}, call_id="call_r1"
        ),
        Reply.text(json.dumps(REVIEW)),
    )

    result, _ = await review(client, thread_id, {"type": "uncommittedChanges"})

    (command,) = [
        m["params"]
        for m in client.received
        if m.get("method") == "item/completed" and m["params"]["item"]["type"] == "commandExecution"
    ]
    assert command["turnId"] == result["turn"]["id"]
    assert "a.py | 2 +-" in command["item"]["aggregatedOutput"]
    assert not (repo / "written.txt").exists()
    (read,) = await read_after_restart(servers, client, thread_id)
    assert [i["type"] for i in read["items"]] == [
        "enteredReviewMode",
        "exitedReviewMode",
        "agentMessage",
    ]
