"""Edits of `config.toml` that keep the file's comments and layout (`config/value/write`).

The user's file is theirs: a client changing one value must not reformat it, drop comments or
reorder tables. Edits are applied to a `tomlkit` document, which keeps everything it does not
touch byte for byte. Codex's semantics: a key path is dotted (`model_providers.local.base_url`);
`replace` sets the value (a table replaces the whole table), `upsert` merges a table into the
existing one key by key; a null value removes the key; missing parent tables are created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import tomlkit
from msgspec import Struct
from tomlkit.container import Container
from tomlkit.items import AoT, Item, Table

from app_server.config.problems import ConfigWriteError, ConfigWriteErrorCode


class ConfigEdit(Struct, frozen=True):
    """One change: the value at `path` (None removes it), merged into a table when `upsert`."""

    path: tuple[str, ...]
    value: Any
    upsert: bool = False

    @classmethod
    def parse(cls, key_path: str, value: Any, *, upsert: bool) -> ConfigEdit:
        """From the wire's dotted `keyPath`; an empty path or segment is refused."""
        parts = tuple(part.strip() for part in key_path.split("."))
        if not key_path.strip():
            raise ConfigWriteError(ConfigWriteErrorCode.VALIDATION, "keyPath must not be empty")
        if any(not part for part in parts):
            raise ConfigWriteError(
                ConfigWriteErrorCode.VALIDATION, f"keyPath has an empty segment: {key_path!r}"
            )
        return cls(parts, value, upsert)


def apply_edits(document: tomlkit.TOMLDocument, edits: Sequence[ConfigEdit]) -> None:
    """Apply `edits` in order to `document` in place; raises `ConfigWriteError` when a path
    runs through a value that is not a table."""
    for edit in edits:
        _apply(document, edit)


Node = tomlkit.TOMLDocument | Table | Container


def _apply(document: tomlkit.TOMLDocument, edit: ConfigEdit) -> None:
    node: Node = document
    for depth, part in enumerate(edit.path[:-1]):
        child = node.get(part)
        if child is None:
            if edit.value is None:
                return  # removing a key under a table that does not exist: nothing to do
            child = tomlkit.table(is_super_table=depth + 1 < len(edit.path) - 1)
            _add(node, part, child)
        elif not isinstance(child, Table | Container) or isinstance(child, AoT):
            raise ConfigWriteError(
                ConfigWriteErrorCode.VALIDATION, "cannot set value on non-table parent"
            )
        node = child
    key = edit.path[-1]
    if edit.value is None:
        if key in node:
            del node[key]
        return
    existing = node.get(key)
    if edit.upsert and isinstance(existing, Table) and isinstance(edit.value, Mapping):
        _merge(existing, edit.value)
    elif key in node:
        node[key] = _item(edit.value)
    else:
        _add(node, key, _item(edit.value))


def _merge(table: Table, values: Mapping[str, Any]) -> None:
    """Upsert: each key of `values` set in `table`, tables merged recursively."""
    for key, value in values.items():
        existing = table.get(key)
        if isinstance(existing, Table) and isinstance(value, Mapping):
            _merge(existing, value)
        elif value is None:
            if key in table:
                del table[key]
        else:
            table[key] = _item(value)


def _item(value: Any) -> Item:
    """A TOML item for a JSON value (a table for an object, as codex writes `[features]`);
    raises `ConfigWriteError` for what TOML cannot hold (null inside a list)."""
    try:
        item: Item = tomlkit.item(value)
    except (TypeError, ValueError) as exc:
        raise ConfigWriteError(
            ConfigWriteErrorCode.VALIDATION, f"value cannot be written as TOML: {exc}"
        ) from None
    return item


def _add(node: Node, key: str, item: Item) -> None:
    """Add a new key; a new top-level table gets a blank line before it, as a person writes."""
    if isinstance(node, tomlkit.TOMLDocument) and isinstance(item, Table):
        body = node.body
        if body and not tomlkit.dumps(node).endswith("\n\n"):
            node.add(tomlkit.nl())
    node[key] = item
