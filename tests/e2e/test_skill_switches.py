"""`skills/config/write` (a skill turned off or on in config.toml, as codex 0.169 writes it),
`$skill` mentions and skill input items (the skill's SKILL.md given to the model), and the
plugin listings codex's clients read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import start_thread, tool_client, turn

SKILL_TEXT = "---\nname: demo\ndescription: Demo skill.\n---\n\nDo the demo thing.\n"


def demo_skill(data_dir: Path) -> Path:
    folder = data_dir / "skills" / "demo"
    folder.mkdir(parents=True)
    path = folder / "SKILL.md"
    path.write_text(SKILL_TEXT)
    return path


def skill_message(path: Path) -> str:
    return f"<skill>\n<name>demo</name>\n<path>{path}</path>\n{SKILL_TEXT}\n</skill>"


def user_texts(body: dict[str, Any]) -> list[str]:
    return [
        part["text"]
        for item in body["input"]
        if item.get("type") == "message" and item.get("role") == "user"
        for part in item["content"]
    ]


async def listed_enabled(client: Any, cwd: Path) -> dict[str, bool]:
    listed = await client.call("skills/list", {"cwds": [str(cwd)]})
    return {skill["name"]: skill["enabled"] for skill in listed["data"][0]["skills"]}


async def test_disabling_a_skill_by_name_writes_its_entry_and_keeps_comments(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    demo_skill(servers.dirs.data_dir)
    client = await tool_client(servers, model_server, extra_config="# my own note\n")

    answer = await client.call("skills/config/write", {"name": "demo", "enabled": False})

    assert answer == {"effectiveEnabled": False}
    text = (servers.dirs.data_dir / "config.toml").read_text()
    assert "# my own note" in text
    assert text.endswith('[[skills.config]]\nname = "demo"\nenabled = false\n')
    assert await listed_enabled(client, tmp_path) == {"demo": False}


async def test_enabling_a_skill_again_removes_its_entry(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    demo_skill(servers.dirs.data_dir)
    client = await tool_client(servers, model_server, extra_config="# my own note\n")
    before = (servers.dirs.data_dir / "config.toml").read_text()
    await client.call("skills/config/write", {"name": "demo", "enabled": False})

    answer = await client.call("skills/config/write", {"name": "demo", "enabled": True})

    assert answer == {"effectiveEnabled": True}
    assert (servers.dirs.data_dir / "config.toml").read_text() == before
    assert await listed_enabled(client, tmp_path) == {"demo": True}


async def test_disabling_a_skill_by_path_writes_a_path_entry(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    path = demo_skill(servers.dirs.data_dir)
    client = await tool_client(servers, model_server)

    answer = await client.call("skills/config/write", {"path": str(path), "enabled": False})

    assert answer == {"effectiveEnabled": False}
    text = (servers.dirs.data_dir / "config.toml").read_text()
    assert text.endswith(f'[[skills.config]]\npath = "{path}"\nenabled = false\n')
    assert await listed_enabled(client, tmp_path) == {"demo": False}


async def test_skills_config_write_needs_exactly_one_selector(
    servers: Servers, model_server: ModelServer
) -> None:
    path = demo_skill(servers.dirs.data_dir)
    client = await tool_client(servers, model_server)
    before = (servers.dirs.data_dir / "config.toml").read_text()

    neither = await client.request("skills/config/write", {"enabled": False})
    both = await client.request(
        "skills/config/write", {"name": "demo", "path": str(path), "enabled": False}
    )

    message = "skills/config/write requires exactly one of path or name"
    assert (neither.code, neither.message) == (-32602, message)
    assert (both.code, both.message) == (-32602, message)
    assert (servers.dirs.data_dir / "config.toml").read_text() == before


async def test_skills_config_write_refuses_a_relative_path(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await tool_client(servers, model_server)

    reply = await client.request("skills/config/write", {"path": "demo/SKILL.md", "enabled": False})

    assert (reply.code, reply.message) == (
        -32600,
        "Invalid request: AbsolutePathBuf deserialized without a base path",
    )


async def test_a_disabled_skill_is_not_announced_to_threads_started_afterwards(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    demo_skill(servers.dirs.data_dir)
    model_server.enqueue(Reply.text("ok"))
    client = await tool_client(servers, model_server)
    await client.call("skills/config/write", {"name": "demo", "enabled": False})
    thread_id = await start_thread(client, tmp_path)

    await turn(client, thread_id, "hello")

    (request,) = await model_server.wait_for_requests(1)
    developer = json.dumps([i for i in request.body["input"] if i.get("role") == "developer"])
    assert "<permissions instructions>" in developer
    assert "skills_instructions" not in developer


async def test_a_dollar_mention_gives_the_model_the_skill_file_after_the_user_message(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    path = demo_skill(servers.dirs.data_dir)
    model_server.enqueue(Reply.text("ok"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)

    await turn(client, thread_id, "please use $demo, then $demo. again")

    (request,) = await model_server.wait_for_requests(1)
    assert user_texts(request.body)[-2:] == [
        "please use $demo, then $demo. again",
        skill_message(path),
    ]


async def test_a_skill_input_item_gives_the_model_the_skill_file_and_adds_no_user_text(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    path = demo_skill(servers.dirs.data_dir)
    model_server.enqueue(Reply.text("ok"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    skill_item = {"type": "skill", "name": "label only", "path": str(path)}

    await turn(
        client,
        thread_id,
        input=[{"type": "text", "text": "go", "text_elements": []}, skill_item],
    )

    (request,) = await model_server.wait_for_requests(1)
    assert user_texts(request.body)[-2:] == ["go", skill_message(path)]
    (user_item,) = [
        n["params"]["item"]
        for n in client.notifications_named("item/completed")
        if n["params"]["item"]["type"] == "userMessage"
    ]
    assert user_item["content"][1] == skill_item


async def test_the_skill_message_is_recorded_in_the_rollout_after_the_user_message(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    path = demo_skill(servers.dirs.data_dir)
    model_server.enqueue(Reply.text("ok"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id, "use $demo")
    read = await client.call("thread/read", {"threadId": thread_id})

    lines = [json.loads(line) for line in Path(read["thread"]["path"]).read_text().splitlines()]

    user_messages = [
        line["payload"]["content"][0]["text"]
        for line in lines
        if line["type"] == "response_item" and line["payload"].get("role") == "user"
    ]
    assert user_messages[-2:] == ["use $demo", skill_message(path)]
    assert read["thread"]["preview"] == "use $demo"


async def test_a_mention_of_a_disabled_or_unknown_skill_adds_nothing(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    demo_skill(servers.dirs.data_dir)
    model_server.enqueue(Reply.text("ok"))
    client = await tool_client(servers, model_server)
    await client.call("skills/config/write", {"name": "demo", "enabled": False})
    thread_id = await start_thread(client, tmp_path)

    await turn(client, thread_id, "use $demo and $nosuch and $DEMO")

    (request,) = await model_server.wait_for_requests(1)
    assert user_texts(request.body)[-1] == "use $demo and $nosuch and $DEMO"
    assert not any(text.startswith("<skill>") for text in user_texts(request.body))


async def test_plugin_listings_are_empty_for_a_home_without_plugins(
    servers: Servers, tmp_path: Path
) -> None:
    client = await servers.stdio()
    await client.initialize()

    installed = await client.call("plugin/installed", {"cwds": [str(tmp_path)]})
    listed = await client.call("plugin/list", {})

    assert installed == {"marketplaces": [], "marketplaceLoadErrors": []}
    assert listed == {"marketplaces": [], "marketplaceLoadErrors": [], "featuredPluginIds": []}


async def test_plugin_listings_refuse_a_relative_cwd_as_codex(servers: Servers) -> None:
    client = await servers.stdio()
    await client.initialize()

    installed = await client.request("plugin/installed", {"cwds": ["relative/dir"]})
    listed = await client.request("plugin/list", {"cwds": ["relative/dir"]})

    message = "Invalid request: AbsolutePathBuf deserialized without a base path"
    assert (installed.code, installed.message) == (-32600, message)
    assert (listed.code, listed.message) == (-32600, message)


async def test_a_loaded_thread_keeps_the_switches_it_started_with(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    demo_skill(servers.dirs.data_dir)
    model_server.enqueue(Reply.text("ok"))
    client = await tool_client(servers, model_server)
    await client.call("skills/config/write", {"name": "demo", "enabled": False})
    thread_id = await start_thread(client, tmp_path)
    await client.call("skills/config/write", {"name": "demo", "enabled": True})

    await turn(client, thread_id, "use $demo")

    (request,) = await model_server.wait_for_requests(1)
    assert not any(text.startswith("<skill>") for text in user_texts(request.body))
    assert await listed_enabled(client, tmp_path) == {"demo": True}
