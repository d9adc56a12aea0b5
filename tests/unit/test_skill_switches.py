"""`[[skills.config]]` edits (`skills/config/write`) and `$skill` mention parsing."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomlkit

from app_server.config.problems import ConfigWriteError
from app_server.config.skill_switches import switch_skill
from app_server.skill_mentions import selected_skills
from app_server.skills import Skill, SkillListing
from protocol.types import SkillUserInput, TextUserInput

FILES = [
    'model = "x"\n\n[model_providers.mock]\nname = "mock"\n',
    'model = "x"  # mine\n',
    "a = 1\n\n# trailing comment\n",
    "",
]


@pytest.mark.parametrize("text", FILES)
def test_disabling_then_enabling_a_skill_gives_back_the_same_file(text: str) -> None:
    document = tomlkit.parse(text)
    switch_skill(document, "name", "demo", enabled=False)
    document = tomlkit.parse(tomlkit.dumps(document))

    switch_skill(document, "name", "demo", enabled=True)

    assert tomlkit.dumps(document) == text


def test_disabling_a_skill_twice_keeps_one_entry() -> None:
    document = tomlkit.parse("")
    switch_skill(document, "path", "/s/SKILL.md", enabled=False)

    switch_skill(document, "path", "/s/SKILL.md", enabled=False)

    assert tomlkit.dumps(document) == '[[skills.config]]\npath = "/s/SKILL.md"\nenabled = false\n'


def test_enabling_one_skill_keeps_the_other_entries() -> None:
    document = tomlkit.parse("")
    switch_skill(document, "name", "a", enabled=False)
    switch_skill(document, "name", "b", enabled=False)

    switch_skill(document, "name", "a", enabled=True)

    assert document.unwrap() == {"skills": {"config": [{"name": "b", "enabled": False}]}}


def test_a_skills_config_that_is_not_a_list_of_tables_is_refused() -> None:
    document = tomlkit.parse('[skills]\nconfig = "demo"\n')

    with pytest.raises(ConfigWriteError, match="not an array of tables"):
        switch_skill(document, "name", "demo", enabled=False)

    assert tomlkit.dumps(document) == '[skills]\nconfig = "demo"\n'


def _skill(name: str, path: str, *, enabled: bool = True) -> Skill:
    return Skill(name, "d", None, Path(path), "user", enabled=enabled)


LISTING = SkillListing(
    Path("/w"),
    (_skill("demo", "/s/demo/SKILL.md"), _skill("off", "/s/off/SKILL.md", enabled=False)),
    (),
)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("use $demo", ["demo"]),
        ("$demo, $demo. and ($demo)", ["demo"]),
        ("$DEMO $demox $de a$demo", []),
        ("[$demo](/s/demo/SKILL.md)", ["demo"]),
        ("[$demo](elsewhere)", []),
        ("$off", []),
    ],
)
def test_mentions_select_enabled_skills_by_exact_name(text: str, names: list[str]) -> None:
    selected = selected_skills([TextUserInput(text=text)], LISTING)

    assert [skill.name for skill in selected] == names


def test_a_skill_item_is_found_by_its_path_not_its_label() -> None:
    item = SkillUserInput(name="whatever", path="/s/demo/SKILL.md")

    assert [skill.name for skill in selected_skills([item], LISTING)] == ["demo"]
