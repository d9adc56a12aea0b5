"""`skills/list` and `skills/config/write`: the skills each working directory sees, and
turning one on or off (discovery is `app_server.skills`; the config edit is
`app_server.config.skill_switches`)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from app_server.api.path_params import check_absolute_path, check_paths
from app_server.client_connection import ClientConnection
from app_server.config.loader import ServerConfig
from app_server.errors import InvalidParams
from app_server.skills import SkillListing, list_skills, skill_switches, with_switches
from protocol import types
from protocol.types import (
    SkillDependencies,
    SkillErrorInfo,
    SkillInterface,
    SkillMetadata,
    SkillsConfigWriteParams,
    SkillsConfigWriteResponse,
    SkillsListParams,
)
from protocol.wire_model import WireModel, omit_none

if TYPE_CHECKING:
    from app_server.config.skill_switches import Selector
    from app_server.config.writer import ConfigWriter


class ListedSkill(SkillMetadata):
    """A skill as codex 0.169 lists it: `dependencies`, `interface` and `shortDescription` left
    out when the skill has none (codex skips them; `pluginId` is sent as null)."""

    dependencies: SkillDependencies | None = Field(default=None, exclude_if=omit_none)
    interface: SkillInterface | None = Field(default=None, exclude_if=omit_none)
    short_description: str | None = Field(default=None, exclude_if=omit_none)


class ListedSkillsEntry(WireModel):
    """`SkillsListEntry` with its skills as `ListedSkill`s (a model is serialized by its
    declared type, so the entry and the answer name the subclass)."""

    cwd: str
    errors: list[SkillErrorInfo]
    skills: list[ListedSkill]


class ListedSkills(WireModel):
    """`SkillsListResponse` with `ListedSkillsEntry` entries."""

    data: list[ListedSkillsEntry]


# The parents' annotations name types of `protocol.types`, resolved there (deferred build).
for _model in (ListedSkill, ListedSkillsEntry, ListedSkills):
    _model.model_rebuild(_types_namespace={**vars(types), **globals()})

ONE_SELECTOR = "skills/config/write requires exactly one of path or name"
"""codex 0.169's answer (-32602) to a write without exactly one selector."""


class SkillHandlers:
    """`skills/list`: one entry per requested `cwd` (the server's when none), each skill's
    `enabled` from the config's `[[skills.config]]`; `skills/config/write`: edits them."""

    def __init__(
        self, config: ServerConfig, writer: Callable[[], ConfigWriter], server_cwd: Path
    ) -> None:
        """`writer()` gives the server's one config writer (made on the first write: it
        imports tomlkit)."""
        self._config = config
        self._writer = writer
        self._server_cwd = server_cwd

    async def list(self, connection: ClientConnection, params: SkillsListParams) -> ListedSkills:
        check_paths("cwds", params.cwds or ())
        cwds = [Path(cwd) for cwd in params.cwds or ()] or [self._server_cwd]
        home_env = os.environ.get("HOME")
        home = Path(home_env) if home_env else None
        data_dir = self._config.data_dir
        listings = await asyncio.gather(
            *(asyncio.to_thread(list_skills, cwd, data_dir, home) for cwd in cwds)
        )
        switches = skill_switches(self._config.toml)
        return ListedSkills(data=[_entry(with_switches(listing, switches)) for listing in listings])

    async def config_write(
        self, connection: ClientConnection, params: SkillsConfigWriteParams
    ) -> SkillsConfigWriteResponse:
        """Turn the skill at `path`, or every skill called `name`, on or off in config.toml.
        Threads started afterwards see it (a loaded thread keeps the switches it started with,
        as in codex); `effectiveEnabled` is what the new config says for that selector."""
        from app_server.config.skill_switches import EDITED_KEY, switch_skill  # tomlkit

        if (params.path is None) == (params.name is None):
            raise InvalidParams(ONE_SELECTOR)
        if params.path is not None:
            check_absolute_path("path", params.path)
            selector: Selector = "path"
            value = params.path
        else:
            assert params.name is not None
            selector, value = "name", params.name
        enabled = params.enabled
        await self._writer().change(
            lambda document: switch_skill(document, selector, value, enabled=enabled),
            [EDITED_KEY],
        )
        effective = True
        for switch in skill_switches(self._config.toml):
            if getattr(switch, selector) == value:
                effective = switch.enabled
        return SkillsConfigWriteResponse(effective_enabled=effective)


def _entry(listing: SkillListing) -> ListedSkillsEntry:
    return ListedSkillsEntry(
        cwd=str(listing.cwd),
        skills=[
            ListedSkill(
                name=skill.name,
                description=skill.description,
                short_description=skill.short_description,
                enabled=skill.enabled,
                path=str(skill.path),
                scope=skill.scope,
            )
            for skill in listing.skills
        ],
        errors=[
            SkillErrorInfo(path=str(problem.path), message=problem.message)
            for problem in listing.problems
        ],
    )
