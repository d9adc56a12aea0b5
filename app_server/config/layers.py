"""Config layers and where each value came from.

Layers, lowest first: built-in defaults < `<data dir>/config.toml` < `-c key=value` < a thread's
`config` object (thread/start, resume, fork) < turn overrides. Each layer is a list of
assignments (dotted key → value) applied in order, codex style: an assignment replaces whatever
was at its key, so `-c model_providers.p.env_key=K` keeps the file's other `p` keys while
`-c 'features={a=true}'` replaces the whole `[features]` table.

Applying layers yields the raw merged table (unknown keys kept, for `config/read` and writes) and
the origin of every leaf value, which `config/read` reports as codex does.
"""

from __future__ import annotations

import copy
import enum
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from msgspec import Struct

from app_server.config.problems import ConfigError

KeyPath = tuple[str, ...]


class LayerKind(enum.StrEnum):
    """Where a value came from. `user` and `sessionFlags` are codex's `ConfigLayerSource.type`
    spellings (`config/read` reports them as they are); the others are this server's."""

    DEFAULT = "default"
    USER = "user"
    SESSION_FLAGS = "sessionFlags"
    THREAD = "thread"
    TURN = "turn"


LAYER_PRECEDENCE = tuple(LayerKind)
"""Lowest first: a later kind wins over an earlier one."""


class Origin(Struct, frozen=True):
    """The layer a value came from; `file` is the `config.toml` of a `user` layer."""

    kind: LayerKind
    file: Path | None = None


DEFAULT_ORIGIN = Origin(LayerKind.DEFAULT)
SESSION_FLAGS_ORIGIN = Origin(LayerKind.SESSION_FLAGS)
THREAD_ORIGIN = Origin(LayerKind.THREAD)
TURN_ORIGIN = Origin(LayerKind.TURN)


def user_origin(config_file: Path) -> Origin:
    return Origin(LayerKind.USER, config_file)


class ConfigLayer(Struct, frozen=True):
    """One layer: its origin and its assignments, in the order they apply."""

    origin: Origin
    assignments: tuple[tuple[KeyPath, Any], ...] = ()

    @classmethod
    def from_table(cls, origin: Origin, table: Mapping[str, Any]) -> ConfigLayer:
        """A whole table (a parsed `config.toml`): one assignment per top-level key."""
        return cls(origin, tuple(((key,), value) for key, value in table.items()))

    @classmethod
    def from_dotted(cls, origin: Origin, values: Mapping[str, Any]) -> ConfigLayer:
        """`{"features.multi_agent_v2": true, …}` (a thread's `config`); empty keys are skipped."""
        assignments = []
        for key, value in values.items():
            parts = tuple(part.strip() for part in key.split(".") if part.strip())
            if parts:
                assignments.append((parts, value))
        return cls(origin, tuple(assignments))

    def table(self) -> dict[str, Any]:
        """The layer on its own, as a nested table (what `config/read` lists per layer)."""
        result: dict[str, Any] = {}
        apply_layer(result, {}, self)
        return result


def parse_override(text: str) -> tuple[list[str], Any]:
    """`model_providers.x.base_url="http://…"` → (["model_providers", "x", "base_url"], value).

    The value is TOML, falling back to a plain string when it is not valid TOML, as `codex -c`.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"invalid -c override {text!r}: expected key=value")
    parts = [part.strip() for part in key.split(".")]
    if any(not part for part in parts):
        raise ConfigError(f"invalid -c override {text!r}: empty key segment")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw
    return parts, value


def cli_overrides_layer(overrides: list[str]) -> ConfigLayer:
    """The `-c` arguments as one layer; raises `ConfigError` for a malformed one."""
    assignments = []
    for text in overrides:
        parts, value = parse_override(text)
        assignments.append((tuple(parts), value))
    return ConfigLayer(SESSION_FLAGS_ORIGIN, tuple(assignments))


def apply_layer(table: dict[str, Any], origins: dict[str, Origin], layer: ConfigLayer) -> None:
    """Apply `layer` to the merged `table` in place, recording the origin of each leaf it sets.

    Values are copied in, so a later layer never changes an earlier layer's tables.
    """
    for path, value in layer.assignments:
        node = table
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[path[-1]] = copy.deepcopy(value)
        _record_origins(origins, path, value, layer.origin)


def _record_origins(origins: dict[str, Origin], path: KeyPath, value: Any, origin: Origin) -> None:
    dotted = ".".join(path)
    for key in [k for k in origins if k == dotted or k.startswith(dotted + ".")]:
        del origins[key]
    for depth in range(1, len(path)):
        origins.pop(".".join(path[:depth]), None)  # a plain value replaced by a table
    for leaf in _leaves(dotted, value):
        origins[leaf] = origin


def _leaves(key: str, value: Any) -> list[str]:
    if isinstance(value, Mapping) and value:
        return [leaf for k, v in value.items() for leaf in _leaves(f"{key}.{k}", v)]
    return [key]


def origin_of(origins: Mapping[str, Origin], key: str) -> Origin:
    """Where the value at dotted `key` came from: its own entry, else the nearest enclosing
    value's, else (a table) the highest layer among its values', else the defaults."""
    key = key.split("[", 1)[0]  # a list element comes from where its list came from
    parts = key.split(".")
    for depth in range(len(parts), 0, -1):
        found = origins.get(".".join(parts[:depth]))
        if found is not None:
            return found
    inside = [origin for k, origin in origins.items() if k.startswith(key + ".")]
    if inside:
        return max(inside, key=lambda origin: LAYER_PRECEDENCE.index(origin.kind))
    return DEFAULT_ORIGIN


def lookup(values: Mapping[str, Any], dotted_key: str, default: Any = None) -> Any:
    """The raw value at `a.b.c` in a nested table (for `config/read`, not for settings)."""
    node: Any = values
    for part in dotted_key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node
