"""`skills/list`: the skills each working directory sees (discovery is `app_server.skills`)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from app_server.client_connection import ClientConnection
from app_server.skills import SkillListing, list_skills
from protocol.types import (
    SkillErrorInfo,
    SkillMetadata,
    SkillsListEntry,
    SkillsListParams,
    SkillsListResponse,
)


class SkillHandlers:
    """Handler of `skills/list`: one entry per requested `cwd` (the server's when none)."""

    def __init__(self, data_dir: Path, server_cwd: Path) -> None:
        self._data_dir = data_dir
        self._server_cwd = server_cwd

    async def list(
        self, connection: ClientConnection, params: SkillsListParams
    ) -> SkillsListResponse:
        cwds = [Path(cwd) for cwd in params.cwds or ()] or [self._server_cwd]
        home_env = os.environ.get("HOME")
        home = Path(home_env) if home_env else None
        listings = await asyncio.gather(
            *(asyncio.to_thread(list_skills, cwd, self._data_dir, home) for cwd in cwds)
        )
        return SkillsListResponse(data=[_entry(listing) for listing in listings])


def _entry(listing: SkillListing) -> SkillsListEntry:
    return SkillsListEntry(
        cwd=str(listing.cwd),
        skills=[
            SkillMetadata(
                name=skill.name,
                description=skill.description,
                short_description=skill.short_description,
                enabled=True,
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
