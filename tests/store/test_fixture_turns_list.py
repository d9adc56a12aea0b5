"""`thread/turns/list` pages reproduce codex 0.169.0's recorded answers exactly.

Each recorded call's params (from `calls.json`) are applied by `turn_pages.page_turns` to the
turns folded from the rollout; the result, cursors included, must equal `expected/…`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app_server.store.local.thread_loader import read_stored_thread
from app_server.store.turn_pages import page_turns
from tests.store.fixture_data import fixture_calls, load_json

TURNS_LIST_CALLS = fixture_calls("thread/turns/list")


@pytest.mark.parametrize("call", TURNS_LIST_CALLS, ids=lambda call: Path(call["file"]).stem)
def test_turns_list_matches_codex(codex_home: Path, call: dict[str, Any]) -> None:
    params = call["params"]
    stored = read_stored_thread(codex_home, params["threadId"])
    assert stored is not None

    page = page_turns(
        params["threadId"],
        stored.turns(),
        history_mode=stored.record.history_mode,
        cursor=params.get("cursor"),
        limit=params.get("limit"),
        sort_direction=params.get("sortDirection"),
        items_view=params.get("itemsView"),
    )

    assert page.to_response().model_dump(mode="json") == load_json(call["file"])


def test_recorded_calls_cover_paginated_legacy_and_full_views(codex_home: Path) -> None:
    views = {call["params"].get("itemsView", "summary") for call in TURNS_LIST_CALLS}
    modes = set()
    for call in TURNS_LIST_CALLS:
        stored = read_stored_thread(codex_home, call["params"]["threadId"])
        assert stored is not None
        modes.add(stored.record.history_mode)

    assert views == {"summary", "full"}
    assert modes == {"paginated", "legacy"}
