"""`skills/config/write`'s edit of `config.toml`: the `[[skills.config]]` entry of one skill.

codex 0.169 (observed) keeps only entries that turn a skill off: disabling writes

    [[skills.config]]
    name = "release-notes"        # or path = "/abs/…/SKILL.md", whichever selected it
    enabled = false

and enabling removes the entries with that selector again (dropping `[[skills.config]]` when it
is left empty), so a file with every skill on has no skills section at all. The edit goes
through `ConfigWriter.change`, so the rest of the file keeps its comments and layout.
"""

from __future__ import annotations

from typing import Literal

import tomlkit
from tomlkit.items import AoT, Null, Table, Whitespace

from app_server.config.problems import ConfigWriteError, ConfigWriteErrorCode

SKILLS_KEY = "skills"
SWITCHES_KEY = "config"
EDITED_KEY = f"{SKILLS_KEY}.{SWITCHES_KEY}"
"""The dotted key `skills/config/write` changes (validated after the edit)."""

Selector = Literal["path", "name"]


def switch_skill(
    document: tomlkit.TOMLDocument, selector: Selector, value: str, *, enabled: bool
) -> None:
    """Set the skill `selector = value` on or off in `document` (in place; entries are edited
    where they are, so the rest of the file does not move)."""
    skills = document.get(SKILLS_KEY)
    switches = skills.get(SWITCHES_KEY) if isinstance(skills, Table) else None
    if switches is not None and not isinstance(switches, AoT):
        raise ConfigWriteError(
            ConfigWriteErrorCode.VALIDATION,
            f"`{EDITED_KEY}` in config.toml is not an array of tables; fix it first",
        )
    matching = [index for index, entry in enumerate(switches or []) if entry.get(selector) == value]
    if switches is not None:
        keep_first = not enabled and bool(matching)
        for index in reversed(matching[1:] if keep_first else matching):
            del switches[index]
        if keep_first:
            switches[matching[0]]["enabled"] = False
            return
    if not enabled:
        entry = tomlkit.table()
        entry[selector] = value
        entry["enabled"] = False
        if switches is not None:
            switches.append(entry)
        elif isinstance(skills, Table):
            skills.append(SWITCHES_KEY, tomlkit.aot())
            skills[SWITCHES_KEY].append(entry)
        else:
            table = tomlkit.table(is_super_table=True)
            table.append(SWITCHES_KEY, tomlkit.aot())
            table[SWITCHES_KEY].append(entry)
            document.append(SKILLS_KEY, table)
        return
    if isinstance(skills, Table) and switches is not None and not switches:
        del skills[SWITCHES_KEY]
        if not skills:
            was_last = list(document.keys())[-1] == SKILLS_KEY
            del document[SKILLS_KEY]
            if was_last:
                _drop_trailing_blank_line(document)


def _drop_trailing_blank_line(document: tomlkit.TOMLDocument) -> None:
    """Remove the blank line that separated what came before `[[skills.config]]` from it, so
    that enabling the last disabled skill gives back the file as it was before disabling it."""
    body = document.body
    while True:
        index = len(body) - 1
        while index >= 0 and isinstance(body[index][1], Null):  # left behind by `del`
            index -= 1
        if index < 0:
            return
        item = body[index][1]
        if isinstance(item, Whitespace):
            if not item.as_string().strip("\n"):
                del body[index]
            return
        if not isinstance(item, Table):
            return
        body = item.value.body
