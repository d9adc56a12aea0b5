"""Store fixtures: a temp data dir holding a copy of the codex 0.169.0 fixture home."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store.fixture_data import copy_home


@pytest.fixture
def codex_home(tmp_path: Path) -> Path:
    """A temp copy of the fixture `home/` with codex's mtimes restored (a fresh data dir)."""
    return copy_home(tmp_path / "codex-home")
