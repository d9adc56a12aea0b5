"""Patches end to end: `apply_patch` (freeform, function, and the heredoc sent as a command)
changes files all-or-nothing, shows `fileChange` items and the turn's aggregated diff."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import (
    completed_items,
    read_after_restart,
    start_thread,
    tool_client,
    tool_output,
    turn,
    workspace_write,
)


def patch_call(body: str, call_id: str = "call_1") -> Reply:
    return Reply.custom_tool_call(
        "apply_patch", f"*** Begin Patch\n{body}*** End Patch\n", call_id=call_id
    )


def seed(workspace: Path) -> None:
    (workspace / "edit.txt").write_text("first line\nsecond line\n")
    (workspace / "move.txt").write_text("moving\n")
    (workspace / "gone.txt").write_text("bye\n")


ALL_KINDS = (
    "*** Add File: new/added.txt\n+brand new\n"
    "*** Update File: edit.txt\n@@\n first line\n-second line\n+second line, edited\n"
    "*** Update File: move.txt\n*** Move to: moved/there.txt\n@@\n-moving\n+moved\n"
    "*** Delete File: gone.txt\n"
)


async def test_patch_adds_updates_moves_and_deletes_files(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    seed(tmp_path)
    model_server.enqueue(patch_call(ALL_KINDS), Reply.text("patched"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    finished = await turn(client, thread_id)
    assert finished["status"] == "completed"
    assert (tmp_path / "new/added.txt").read_text() == "brand new\n"
    assert (tmp_path / "edit.txt").read_text() == "first line\nsecond line, edited\n"
    assert not (tmp_path / "move.txt").exists()
    assert (tmp_path / "moved/there.txt").read_text() == "moved\n"
    assert not (tmp_path / "gone.txt").exists()
    requests = await model_server.wait_for_requests(2)
    assert tool_output(requests[1], "call_1") == (
        "Exit code: 0\nWall time: 0 seconds\nOutput:\nSuccess. Updated the following files:\n"
        "A new/added.txt\nM edit.txt\nM moved/there.txt\nD gone.txt\n"
    )


async def test_patch_item_lists_each_change_with_its_diff(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    seed(tmp_path)
    model_server.enqueue(patch_call(ALL_KINDS), Reply.text("patched"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    (item,) = completed_items(client, "fileChange")
    assert item["status"] == "completed"
    changes = {c["path"]: c for c in item["changes"]}
    assert changes[str(tmp_path / "new/added.txt")] == {
        "path": str(tmp_path / "new/added.txt"),
        "kind": {"type": "add"},
        "diff": "brand new\n",
    }
    assert changes[str(tmp_path / "edit.txt")]["diff"] == (
        "@@ -1,2 +1,2 @@\n first line\n-second line\n+second line, edited\n"
    )
    moved = changes[str(tmp_path / "move.txt")]
    assert moved["kind"] == {"type": "update", "move_path": str(tmp_path / "moved/there.txt")}
    assert changes[str(tmp_path / "gone.txt")]["kind"] == {"type": "delete"}


async def test_turn_diff_is_sent_after_a_patch(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(patch_call("*** Add File: hello.txt\n+hello world\n"), Reply.text("ok"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    finished = await turn(client, thread_id)
    (diff,) = client.notifications_named("turn/diff/updated")
    assert diff["params"]["turnId"] == finished["id"]
    assert diff["params"]["diff"] == (
        "diff --git a/hello.txt b/hello.txt\nnew file mode 100644\n"
        "index 0000000000000000000000000000000000000000..3b18e512dba79e4c8300dd08aeb37f8e728b8dad\n"
        "--- /dev/null\n+++ b/hello.txt\n@@ -0,0 +1 @@\n+hello world\n"
    )


async def test_patch_that_escapes_the_workspace_is_refused_and_nothing_changes(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    workspace = tmp_path / "work"
    workspace.mkdir()
    (workspace / "inside.txt").write_text("untouched\n")
    body = (
        "*** Update File: inside.txt\n@@\n-untouched\n+changed\n"
        "*** Add File: ../escaped.txt\n+nope\n"
    )
    model_server.enqueue(patch_call(body), Reply.text("ok"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, workspace, approval="never")
    await turn(client, thread_id, sandboxPolicy=workspace_write())
    assert (workspace / "inside.txt").read_text() == "untouched\n"
    assert not (tmp_path / "escaped.txt").exists()
    (item,) = completed_items(client, "fileChange")
    assert item["status"] == "declined"
    assert client.server_requests.empty()
    requests = await model_server.wait_for_requests(2)
    assert tool_output(requests[1], "call_1").startswith("patch rejected: ")


async def test_patch_through_a_symlink_out_of_the_workspace_is_refused(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    workspace, outside = tmp_path / "work", tmp_path / "outside"
    workspace.mkdir()
    outside.mkdir()
    (outside / "target.txt").write_text("secret\n")
    os.symlink(outside, workspace / "link")
    model_server.enqueue(
        patch_call("*** Update File: link/target.txt\n@@\n-secret\n+leaked\n"), Reply.text("ok")
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, workspace, approval="never")
    await turn(client, thread_id, sandboxPolicy=workspace_write())
    assert (outside / "target.txt").read_text() == "secret\n"
    assert completed_items(client, "fileChange")[0]["status"] == "declined"


async def test_patch_that_does_not_apply_changes_no_file(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("alpha\n")
    body = "*** Add File: b.txt\n+beta\n*** Update File: a.txt\n@@\n-not there\n+x\n"
    model_server.enqueue(patch_call(body), Reply.text("ok"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    assert not (tmp_path / "b.txt").exists()
    assert (tmp_path / "a.txt").read_text() == "alpha\n"
    requests = await model_server.wait_for_requests(2)
    output = tool_output(requests[1], "call_1")
    assert output.startswith("apply_patch verification failed: ")
    assert "a.txt" in output


async def test_function_variant_of_apply_patch_works_the_same(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    patch = "*** Begin Patch\n*** Add File: f.txt\n+via function\n*** End Patch\n"
    model_server.enqueue(
        Reply.function_call("apply_patch", {"input": patch}, call_id="call_1"), Reply.text("ok")
    )
    client = await tool_client(servers, model_server, "-c", 'apply_patch_tool_type="function"')
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    assert (tmp_path / "f.txt").read_text() == "via function\n"
    requests = await model_server.wait_for_requests(2)
    (tool,) = [t for t in requests[0].body["tools"] if t.get("name") == "apply_patch"]
    assert tool["type"] == "function"


async def test_freeform_apply_patch_is_offered_with_its_grammar(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("ok"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    (request,) = await model_server.wait_for_requests(1)
    (tool,) = [t for t in request.body["tools"] if t.get("name") == "apply_patch"]
    assert tool["type"] == "custom"
    assert tool["format"]["syntax"] == "lark"
    names = [t.get("name") for t in request.body["tools"]]
    assert {"exec_command", "write_stdin", "update_plan", "view_image", "clock"} <= set(names)


async def test_heredoc_patch_sent_as_a_command_becomes_a_file_change(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    command = "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: notes.txt\n+first\nEOF\n"
    command = command.replace("+first\n", "+first\n*** End Patch\n")
    model_server.enqueue(
        Reply.function_call("exec_command", {"cmd": command}, call_id="call_1"), Reply.text("ok")
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    assert (tmp_path / "notes.txt").read_text() == "first\n"
    assert completed_items(client, "commandExecution") == []
    (item,) = completed_items(client, "fileChange")
    assert item["status"] == "completed"
    requests = await model_server.wait_for_requests(2)
    output = tool_output(requests[1], "call_1")
    assert output.startswith("Wall time: ")
    assert output.endswith(
        "Output:\nExit code: 0\nWall time: 0 seconds\nOutput:\n"
        "Success. Updated the following files:\nA notes.txt\n"
    )


async def test_file_change_items_read_back_after_a_restart(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    seed(tmp_path)
    model_server.enqueue(patch_call(ALL_KINDS), Reply.text("patched"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    (live,) = completed_items(client, "fileChange")
    turns = await read_after_restart(servers, client, thread_id)
    stored = [i for i in turns[0]["items"] if i["type"] == "fileChange"]
    assert stored == [live]
