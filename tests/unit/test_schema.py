"""Generated artifacts are fresh, and our schema does not contradict codex 0.169.0's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app_server.schema_export import build_schema_files, render
from tests.support.upstream_schema import EXPERIMENTAL

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "schema"


def test_committed_schema_matches_the_models() -> None:
    expected = build_schema_files()
    committed = {
        str(path.relative_to(SCHEMA_DIR)): path.read_text(encoding="utf-8")
        for path in SCHEMA_DIR.rglob("*.json")
    }
    assert sorted(committed) == sorted(expected), (
        "schema/ is stale: run `app-server generate-json-schema --out schema`"
    )
    stale = [name for name, schema in expected.items() if committed[name] != render(schema)]
    assert stale == [], f"stale schema files (regenerate them): {stale[:10]}"


def test_cli_writes_the_committed_schema(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "app_server", "generate-json-schema", "--out", str(tmp_path)],
        check=True,
        cwd=ROOT,
    )
    for path in SCHEMA_DIR.rglob("*.json"):
        generated = tmp_path / path.relative_to(SCHEMA_DIR)
        assert generated.read_text() == path.read_text(), path


def test_committed_protocol_package_matches_the_generator(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "scripts/generate_protocol.py", "--out-dir", str(tmp_path)],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    committed_models = sorted(p.name for p in (ROOT / "protocol" / "models").glob("*.py"))
    assert sorted(p.name for p in (tmp_path / "models").glob("*.py")) == committed_models, (
        "protocol/models/ is stale: run scripts/generate_protocol.py"
    )
    for name in ("types.py", "methods.py", *(f"models/{model}" for model in committed_models)):
        assert (tmp_path / name).read_text() == (ROOT / "protocol" / name).read_text(), (
            f"protocol/{name} is stale: run scripts/generate_protocol.py"
        )


def methods_of(path: Path) -> set[str]:
    union = json.loads(path.read_text())
    return {arm["properties"]["method"]["enum"][0] for arm in union["oneOf"]}


ADDITIONS = json.loads((ROOT / "protocol" / "codex_0171_additions.json").read_text())
"""The additive codex 0.171.0 pieces this server speaks on top of 0.169.0 (issue 16)."""


def added_methods(key: str) -> set[str]:
    return {arm["properties"]["method"]["enum"][0] for arm in ADDITIONS[key]}


def test_notification_methods_are_exactly_upstreams() -> None:
    assert methods_of(SCHEMA_DIR / "ServerNotification.json") == methods_of(
        EXPERIMENTAL / "ServerNotification.json"
    ) | added_methods("notifications")


@pytest.mark.parametrize("union", ["ClientRequest.json", "ServerRequest.json"])
def test_request_methods_are_upstream_methods(union: str) -> None:
    ours = methods_of(SCHEMA_DIR / union)
    assert ours
    assert ours <= methods_of(EXPERIMENTAL / union) | added_methods("experimentalRequests")


def test_the_0171_additions_are_new_to_0169() -> None:
    upstream = upstream_definitions()
    assert not set(ADDITIONS["definitions"]) & set(upstream)
    for name, properties in ADDITIONS["properties"].items():
        assert not set(properties) & set(upstream[name]["properties"]), name
    assert not added_methods("notifications") & methods_of(EXPERIMENTAL / "ServerNotification.json")
    assert not added_methods("experimentalRequests") & methods_of(
        EXPERIMENTAL / "ClientRequest.json"
    )


def upstream_definitions() -> dict[str, Any]:
    bundle = json.loads((EXPERIMENTAL / "codex_app_server_protocol.schemas.json").read_text())
    definitions: dict[str, Any] = dict(bundle["definitions"].pop("v2"))
    definitions.update(bundle["definitions"])
    return definitions


def test_shared_definitions_have_the_same_fields_and_no_extra_required_ones() -> None:
    ours = json.loads((SCHEMA_DIR / "app_server_protocol.schemas.json").read_text())["definitions"]
    theirs = upstream_definitions()
    compared = 0
    for name, schema in ours.items():
        upstream = theirs.get(name)
        if upstream is None or "properties" not in schema or "properties" not in upstream:
            continue
        compared += 1
        added = set(ADDITIONS["properties"].get(name, {}))
        assert set(schema["properties"]) == set(upstream["properties"]) | added, name
        assert set(schema.get("required", [])) <= set(upstream.get("required", [])), name
    assert compared > 200
