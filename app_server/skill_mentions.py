"""Skills a turn's input selects, and the `<skill>` message codex adds for each (observed on
codex 0.169).

A user selects a skill in two ways: a `skill` input item (`{"type": "skill", "name", "path"}`,
what Codex's clients send when a skill is picked from the `$` menu), or `$skill-name` typed in
the text (`[$skill-name](/path/to/SKILL.md)` names it by path). Each enabled skill selected this
way, once per input however often it is named (items first, then mentions in text order), puts
its whole `SKILL.md` in front of the model as one user message right after the user's own:

    <skill>
    <name>release-notes</name>
    <path>/home/me/.codex/skills/notes/SKILL.md</path>
    ---
    name: release-notes
    ...
    </skill>

A skill item is found by its path (its `name` is only a label: the message carries the listed
skill's name). A mention must match a skill's name exactly (case and all); unknown names,
disabled skills and files that cannot be read are skipped without a word, as codex does. The
skill item itself adds nothing to the user message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app_server.skills import Skill, SkillListing
from protocol.types import SkillUserInput, TextUserInput, UserInput

SKILL_MESSAGE_PREFIX = "<skill>"
MAX_SKILL_TEXT_BYTES = 1024 * 1024
"""How much of a selected `SKILL.md` is sent to the model; more would cost that many input
tokens on every later request of the thread."""

_MENTION = re.compile(
    r"\[\$(?P<linked>[A-Za-z0-9_-]+(?::[A-Za-z0-9_-]+)*)\]\((?P<target>[^)\s]+)\)"
    r"|(?<![A-Za-z0-9_$])\$(?P<name>[A-Za-z0-9_-]+(?::[A-Za-z0-9_-]+)*)"
)
"""`[$name](path)` (a linked mention: the skill at `path`) or a bare `$name`."""


def selected_skills(inputs: Sequence[UserInput], listing: SkillListing | None) -> list[Skill]:
    """The enabled skills `inputs` select, each once, skill items first."""
    if listing is None:
        return []
    enabled = [skill for skill in listing.skills if skill.enabled]
    by_path = {skill.path: skill for skill in enabled}
    by_name: dict[str, Skill] = {}
    for skill in enabled:
        by_name.setdefault(skill.name, skill)  # the first root wins, as in the listing
    chosen: dict[Path, Skill] = {}
    for value in inputs:
        if isinstance(value, SkillUserInput) and (item := by_path.get(Path(value.path))):
            chosen.setdefault(item.path, item)
    for value in inputs:
        if not isinstance(value, TextUserInput):
            continue
        for match in _MENTION.finditer(value.text):
            target = match.group("target")
            named = by_path.get(Path(target)) if target else by_name.get(match.group("name"))
            if named is not None:
                chosen.setdefault(named.path, named)
    return list(chosen.values())


def skill_message(skill: Skill) -> dict[str, Any] | None:
    """The user message carrying `skill`'s `SKILL.md` (blocking: reads it); None when the file
    cannot be read."""
    try:
        with skill.path.open("rb") as file:
            text = file.read(MAX_SKILL_TEXT_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None
    header = f"{SKILL_MESSAGE_PREFIX}\n<name>{skill.name}</name>\n<path>{skill.path}</path>"
    body = f"{header}\n{text}\n</skill>"
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": body}]}
