"""The version of a config layer: what `config/read` reports and `expectedVersion` is checked
against.

Codex 0.169 names a layer's version `sha256:<hex>` of the layer's table as compact JSON with
sorted keys (an empty layer is `sha256:` of `{}`); computing it the same way gives the same
version for the same file, so a client may carry a version from one server to the other. It
changes whenever a value changes and not when only comments or layout do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

VERSION_PREFIX = "sha256:"


def layer_version(table: Mapping[str, Any]) -> str:
    """`sha256:<hex>` of `table` as codex serializes it (compact, sorted keys, UTF-8)."""
    text = json.dumps(table, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return VERSION_PREFIX + hashlib.sha256(text.encode()).hexdigest()
