"""Reading the upstream JSON Schema bundle (codex 0.169.0) and the later additions.

The bundle's `v2` definitions and its top-level ones (the method unions) become one flat table
by name, the form the Generator (`scripts/protocol_gen_schema.py`) resolves `$ref`s in; the
additive pieces of codex 0.171.0 are merged in before anything is generated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
"""The repository."""

DEFAULT_SCHEMA_DIR = ROOT.parent / "shared" / "schema"
UPSTREAM_VERSION = "0.169.0"
ADDITIONS = ROOT / "protocol" / "codex_0171_additions.json"
"""Additive pieces of codex 0.171.0 (`thread/search/stream`, `thread/search/partial`, the
search cancels, `thread/list.includedThreadIds`), copied from its schema bundle: added to the
0.169.0 bundle before generating, so 0.169 clients see nothing change."""


def load_definitions(folder: Path, *, experimental: bool) -> dict[str, Any]:
    bundle = json.loads((folder / "codex_app_server_protocol.schemas.json").read_text())
    defs = dict(bundle["definitions"].pop("v2"))
    defs.update(bundle["definitions"])
    add_later_additions(defs, json.loads(ADDITIONS.read_text()), experimental=experimental)
    return defs


def add_later_additions(
    defs: dict[str, Any], additions: dict[str, Any], *, experimental: bool
) -> None:
    """Add the later codex's additive pieces (`ADDITIONS`) to a 0.169 bundle's definitions:
    new types, new optional properties of existing types, new notifications, and (to the
    experimental surface only) new client requests."""
    defs.update(json.loads(json.dumps(additions["definitions"])))
    for name, properties in additions["properties"].items():
        defs[name] = {**defs[name], "properties": {**defs[name]["properties"], **properties}}
    defs["ServerNotification"] = {
        **defs["ServerNotification"],
        "oneOf": [*defs["ServerNotification"]["oneOf"], *additions["notifications"]],
    }
    if experimental:
        defs["ClientRequest"] = {
            **defs["ClientRequest"],
            "oneOf": [*defs["ClientRequest"]["oneOf"], *additions["experimentalRequests"]],
        }
