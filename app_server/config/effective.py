"""The effective configuration: layers merged, checked once, each value's origin known.

One `EffectiveConfig` is built at startup (defaults < `config.toml` < `-c`) and one more per
thread that carries its own `config` object (thread/start, resume, fork) — never per request,
so reading a key costs an attribute access. It is immutable: a new layer makes a new object.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from msgspec import Struct

from app_server.config.keys import ConfigToml
from app_server.config.layers import ConfigLayer, Origin, apply_layer, lookup, origin_of
from app_server.config.problems import ConfigProblem, InvalidValue
from app_server.config.validation import validate_config


class EffectiveConfig(Struct, frozen=True):
    """Typed values (`toml`), the raw merged table, and where every set value came from."""

    toml: ConfigToml
    """What the code reads: every key this server knows, each valid or at its default."""
    raw: Mapping[str, Any]
    """The merged table as the layers wrote it, unknown and invalid values included (for
    `config/read` and writes without loss). Never read settings from it; never mutate it."""
    origins: Mapping[str, Origin]
    """Dotted leaf key → the layer that set it (keys left unset come from the defaults)."""
    layers: tuple[ConfigLayer, ...] = ()
    invalid: tuple[InvalidValue, ...] = ()
    unknown: tuple[str, ...] = ()

    @classmethod
    def from_layers(cls, layers: Iterable[ConfigLayer]) -> EffectiveConfig:
        raw: dict[str, Any] = {}
        origins: dict[str, Origin] = {}
        applied = tuple(layers)
        for layer in applied:
            apply_layer(raw, origins, layer)
        return cls._checked(raw, origins, applied)

    @classmethod
    def _checked(
        cls, raw: dict[str, Any], origins: dict[str, Origin], layers: tuple[ConfigLayer, ...]
    ) -> EffectiveConfig:
        validated = validate_config(raw)
        return cls(validated.toml, raw, origins, layers, validated.invalid, validated.unknown)

    def with_layer(self, layer: ConfigLayer) -> EffectiveConfig:
        """This config with one more layer on top (a thread's or a turn's overrides)."""
        raw = _copy_tables(self.raw)
        origins = dict(self.origins)
        apply_layer(raw, origins, layer)
        return self._checked(raw, origins, (*self.layers, layer))

    def origin(self, key: str) -> Origin:
        """Where the effective value of dotted `key` came from."""
        return origin_of(self.origins, key)

    def raw_value(self, key: str, default: Any = None) -> Any:
        """The value at dotted `key` as the layers wrote it (for `config/read`)."""
        return lookup(self.raw, key, default)

    def invalid_from(self, origin: Origin) -> list[InvalidValue]:
        """The invalid values a given layer brought in."""
        return [bad for bad in self.invalid if self.origin(bad.key) == origin]

    @property
    def problems(self) -> tuple[ConfigProblem, ...]:
        """One problem per invalid value, naming the file it came from when it came from one."""
        return tuple(bad.problem(self.origin(bad.key).file) for bad in self.invalid)


def _copy_tables(table: Mapping[str, Any]) -> dict[str, Any]:
    """A copy whose tables are new (values are replaced, never changed in place)."""
    return {k: _copy_tables(v) if isinstance(v, Mapping) else v for k, v in table.items()}


@functools.cache
def default_config() -> EffectiveConfig:
    """Built-in defaults only (what a thread's settings hold until given a config)."""
    return EffectiveConfig.from_layers(())
