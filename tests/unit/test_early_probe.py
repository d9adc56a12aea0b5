"""The bubblewrap probe started first thing in a serving process (`app_server.early_probe`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app_server.early_probe import start_probe


def fake_bwrap(directory: Path) -> Path:
    """A `bwrap` on PATH that records that it ran (and then fails, as a broken one would)."""
    ran = directory / "ran"
    bwrap = directory / "bwrap"
    bwrap.write_text(f"#!/bin/sh\n: > {ran}\nexit 1\n")
    bwrap.chmod(0o755)
    return ran


@pytest.mark.parametrize(
    "argv", [["storage", "report"], ["app-server", "generate-json-schema", "--out", "x"]]
)
def test_commands_that_serve_no_client_start_no_probe(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = fake_bwrap(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert start_probe(argv) is None
    assert not ran.exists()


def test_serving_probes_the_bwrap_on_path_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = fake_bwrap(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    thread = start_probe(["--data-dir", "x"])
    assert thread is not None
    thread.join(timeout=30)
    assert ran.exists()
