"""`skills/list`: codex's skill discovery (`SKILL.md` with a front matter), per working dir."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import start_thread, tool_client, turn


def write_skill(folder: Path, front_matter: str) -> Path:
    folder.mkdir(parents=True)
    path = folder / "SKILL.md"
    path.write_text(f"---\n{front_matter}---\n\nInstructions.\n")
    return path


async def test_skills_list_finds_user_and_repo_skills_for_a_cwd(
    servers: Servers, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    cwd = repo / "pkg"
    cwd.mkdir()
    repo_skill = write_skill(
        repo / ".agents" / "skills" / "deploy", 'name: deploy\ndescription: "Ship it"\n'
    )
    user_skill = write_skill(
        servers.dirs.data_dir / "skills" / "notes",
        "name: release-notes\ndescription: Write release notes.\n"
        "metadata:\n  short-description: Notes\n",
    )
    client = await servers.stdio()
    await client.initialize()

    listed = await client.call("skills/list", {"cwds": [str(cwd)]})

    (entry,) = listed["data"]
    assert entry["cwd"] == str(cwd)
    assert entry["errors"] == []
    found = {(s["name"], s["scope"], s["path"], s["description"]) for s in entry["skills"]}
    assert found == {
        ("deploy", "repo", str(repo_skill), "Ship it"),
        ("release-notes", "user", str(user_skill), "Write release notes."),
    }
    notes = next(s for s in entry["skills"] if s["name"] == "release-notes")
    assert (notes["shortDescription"], notes["enabled"]) == ("Notes", True)


async def test_skills_list_reports_a_skill_without_front_matter_as_an_error(
    servers: Servers, tmp_path: Path
) -> None:
    broken = servers.dirs.data_dir / "skills" / "broken"
    broken.mkdir(parents=True)
    (broken / "SKILL.md").write_text("no front matter here\n")
    client = await servers.stdio()
    await client.initialize()

    listed = await client.call("skills/list", {"cwds": [str(tmp_path)]})

    (entry,) = listed["data"]
    assert entry["skills"] == []
    assert entry["errors"] == [
        {"path": str(broken / "SKILL.md"), "message": "missing YAML frontmatter delimited by ---"}
    ]


async def test_skills_list_does_not_see_another_repository_s_skills(
    servers: Servers, tmp_path: Path
) -> None:
    write_skill(tmp_path / "a" / ".codex" / "skills" / "only-a", "name: only-a\ndescription: A.\n")
    (tmp_path / "a" / ".git").mkdir()
    other = tmp_path / "b"
    (other / ".git").mkdir(parents=True)
    client = await servers.stdio()
    await client.initialize()

    listed = await client.call("skills/list", {"cwds": [str(tmp_path / "a"), str(other)]})

    assert [[s["name"] for s in entry["skills"]] for entry in listed["data"]] == [["only-a"], []]


async def test_skills_list_names_a_skill_without_a_name_after_its_folder(
    servers: Servers, tmp_path: Path
) -> None:
    write_skill(servers.dirs.data_dir / "skills" / "folder-name", "description: Unnamed.\n")
    client = await servers.stdio()
    await client.initialize()

    listed = await client.call("skills/list", {"cwds": [str(tmp_path)]})

    assert [s["name"] for s in listed["data"][0]["skills"]] == ["folder-name"]


async def test_skills_are_announced_to_the_model_before_the_permissions(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    (tmp_path / ".git").mkdir()
    write_skill(tmp_path / ".agents" / "skills" / "deploy", "name: deploy\ndescription: Ship.\n")
    model_server.enqueue(Reply.text("ok"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)

    (request,) = await model_server.wait_for_requests(1)
    developer = next(i for i in request.body["input"] if i.get("role") == "developer")
    skills, permissions = (part["text"] for part in developer["content"])
    assert skills == (
        "<skills_instructions>\n## Skills\n"
        "A skill is a set of local instructions to follow that is stored in a `SKILL.md` file. "
        "Below is the list of skills that can be used. Each entry includes a name, description, "
        "and a short path that can be expanded into an absolute path using the skill roots "
        "table.\n### Skill roots\n"
        f"- `r0` = `{tmp_path / '.agents' / 'skills'}`\n"
        "### Available skills\n- deploy: Ship. (file: r0/deploy/SKILL.md)\n"
        "</skills_instructions>"
    )
    assert permissions.startswith("<permissions instructions>")
