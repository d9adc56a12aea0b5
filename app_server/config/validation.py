"""Lenient validation of a merged config table against `ConfigToml`.

Codex refuses to start on a config value of the wrong type; README promises that a broken config
never stops this server. So each value is checked on its own, at any depth: a bad one is dropped
(its key's default applies) and reported once as an `InvalidValue` naming the dotted key, the
value and what was expected, while every other value, including the rest of its table, is kept.
Tables of typed keys are walked key by key, as are tables of such tables (`model_providers`) and
lists whose elements may be tables (`models`); any other value is checked whole.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar, Union, cast, get_args, get_origin

from msgspec import Struct, field
from pydantic import BaseModel, TypeAdapter, ValidationError

from app_server.config.keys import ConfigTable, ConfigToml
from app_server.config.problems import InvalidValue
from app_server.config.value_types import Expect, Instead

_T = TypeVar("_T", bound=ConfigTable)

ENTRY_INSTEAD = "ignored"
"""What a warning says of a dropped table entry or list element: nothing replaces it."""


class ValidatedConfig(Struct, frozen=True):
    """The typed config a table amounts to, what was dropped from it, and what was unknown."""

    toml: ConfigToml
    invalid: tuple[InvalidValue, ...] = ()
    unknown: tuple[str, ...] = ()
    """Dotted keys no part of this server reads (kept in the raw table, otherwise ignored)."""


def validate_config(raw: Mapping[str, Any]) -> ValidatedConfig:
    """Check every value of `raw` against its key's type; never raises."""
    checker = _Checker()
    toml = checker.table(ConfigToml, raw, "")
    return ValidatedConfig(toml, tuple(checker.invalid), tuple(checker.unknown))


class _LazyAdapter:
    """A key type's `TypeAdapter`, built when a value of that key is first checked: a config
    sets a few of the ~40 keys, and building an adapter costs ~0.2 ms (a table's, its whole
    validator), so building them all took ~7 ms of every server start."""

    __slots__ = ("_adapter", "_annotation")

    def __init__(self, annotation: Any) -> None:
        self._annotation = annotation
        self._adapter: TypeAdapter[Any] | None = None

    def validate_python(self, value: Any) -> Any:
        if self._adapter is None:
            self._adapter = TypeAdapter(self._annotation)
        return self._adapter.validate_python(value)


class _Slot(Struct, frozen=True):
    """How one place of the config is checked: a key, a table entry or a list element."""

    adapter: _LazyAdapter
    expected: str
    instead: str
    table: type[ConfigTable] | None = None
    """When the value is a table: the typed keys to walk it with."""
    entries: _Slot | None = None
    """When the value is a table of tables: how each entry is checked."""
    elements: _Slot | None = None
    """When the value is a list that may hold tables: how each element is checked."""


class _Checker(Struct):
    invalid: list[InvalidValue] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def table(self, table: type[_T], raw: Mapping[str, Any], prefix: str) -> _T:
        """The table made of the values of `raw` that pass their keys' checks (defaults for the
        rest). `model_construct`, as every value was checked already: validating the whole
        table again would need the table's own validator (see `ConfigTable`)."""
        slots = _slots(table)
        clean: dict[str, Any] = {}
        for name, value in raw.items():
            key = f"{prefix}{name}"
            slot = slots.get(name)
            if slot is None:
                self.unknown.append(key)
                continue
            ok, checked = self.value(slot, value, key)
            if ok:
                clean[name] = checked
        return cast(_T, table.model_construct(**clean))  # pydantic's plugin types it as the base

    def value(self, slot: _Slot, value: Any, key: str) -> tuple[bool, Any]:
        if slot.table is not None and isinstance(value, Mapping):
            return True, self.table(slot.table, value, f"{key}.")
        if slot.entries is not None and isinstance(value, Mapping):
            entries: dict[str, Any] = {}
            for name, entry in value.items():
                ok, checked = self.value(slot.entries, entry, f"{key}.{name}")
                if ok:
                    entries[name] = checked
            return True, entries
        if slot.elements is not None and isinstance(value, list):
            elements: list[Any] = []
            for index, element in enumerate(value):
                ok, checked = self.value(slot.elements, element, f"{key}[{index}]")
                if ok:
                    elements.append(checked)
            return True, elements
        try:
            return True, slot.adapter.validate_python(value)
        except ValidationError:
            self.invalid.append(InvalidValue(key, slot.expected, value, slot.instead))
            return False, None


@functools.cache
def _slots(table: type[ConfigTable]) -> dict[str, _Slot]:
    """The slot of each key of a table type (built once per type)."""
    slots = {}
    for name, info in table.model_fields.items():
        default = info.get_default(call_default_factory=True)
        slots[name] = _slot(info.rebuild_annotation(), _instead(info.metadata, default))
    return slots


def _slot(annotation: Any, instead: str) -> _Slot:
    members = _members(annotation)
    table = next((m for m in members if _is_table(m)), None)
    entries = elements = None
    for member in members:
        args = get_args(member)
        if get_origin(member) is dict and _is_table(_strip(args[1])):
            entries = _slot(args[1], ENTRY_INSTEAD)
        if get_origin(member) is list and any(_is_table(m) for m in _members(args[0])):
            elements = _slot(args[0], ENTRY_INSTEAD)
    return _Slot(
        adapter=_LazyAdapter(annotation),
        expected=_expected(annotation, table is not None),
        instead=instead,
        table=table,
        entries=entries,
        elements=elements,
    )


def _strip(annotation: Any) -> Any:
    """`Annotated[X, …]` → X."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    """The alternatives of a type, `None` and `Annotated` left out."""
    base = _strip(annotation)
    if get_origin(base) in (Union, types.UnionType):
        return [_strip(arg) for arg in get_args(base) if arg is not type(None)]
    return [base]


def _is_table(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, ConfigTable)


def _expected(annotation: Any, is_table: bool) -> str:
    """The `Expect` text of a type (outer metadata first, then its alternatives')."""
    for candidate in [annotation, *_alternatives(annotation)]:
        if get_origin(candidate) is Annotated:
            for meta in candidate.__metadata__:
                if isinstance(meta, Expect):
                    return meta.text
    return "a table" if is_table else "a valid value"


def _alternatives(annotation: Any) -> list[Any]:
    base = _strip(annotation)
    if get_origin(base) in (Union, types.UnionType):
        return [arg for arg in get_args(base) if arg is not type(None)]
    return []


def _instead(metadata: list[Any], default: Any) -> str:
    """What a warning says applies once the key's bad value is dropped."""
    for meta in metadata:
        if isinstance(meta, Instead):
            return meta.text
    if default is None or default == {} or default == []:
        return "ignored"
    if isinstance(default, bool):
        return "using true" if default else "using false"
    if isinstance(default, float) and default.is_integer():
        return f"using {int(default)}"
    if isinstance(default, BaseModel):
        return "using the defaults"
    return f"using {default}"
