"""The effective configuration as `config/read` reports it: codex's `Config`, origins and layers.

What codex 0.169 answers: `config` holds every key the layers set (the merged table, before
defaults) with each key of the schema's `Config` present (null when unset); `origins` maps each
set leaf key (`model_providers.mock.base_url`) to the layer that set it and that layer's version;
`layers` (on request) lists the layers highest first, each with its own table. Defaults are not
a layer here, as in codex. A value the schema's type refuses (one of ours that codex spells
differently, or one our lenient validation dropped) is left out of `config` rather than failing
the whole answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import ValidationError

from app_server.config.effective import EffectiveConfig
from app_server.config.layers import ConfigLayer, LayerKind, Origin
from app_server.config.versions import layer_version
from protocol.types import (
    Config,
    ConfigLayerMetadata,
    ConfigLayerSource,
    ConfigReadResponse,
    SessionFlagsConfigLayerSource,
    UserConfigLayerSource,
)
from protocol.types import (
    ConfigLayer as WireConfigLayer,
)

log = logging.getLogger(__name__)

REPORTED_KINDS = (LayerKind.SESSION_FLAGS, LayerKind.USER)
"""The layers `config/read` lists, highest first (thread and turn layers belong to a thread;
the defaults are not a layer in codex's answer)."""


def config_read_response(effective: EffectiveConfig, *, include_layers: bool) -> ConfigReadResponse:
    """The answer to `config/read` for the server-wide configuration."""
    layers = [
        layer
        for layer in effective.layers
        if layer.origin.kind == LayerKind.USER
        or (layer.origin.kind in REPORTED_KINDS and layer.assignments)
    ]  # no `-c` flags: no session-flags layer, as codex
    metadata = {id(layer): _metadata(layer) for layer in layers}
    by_origin = {layer.origin: metadata[id(layer)] for layer in layers}
    origins = {
        key: by_origin[origin]
        for key, origin in sorted(effective.origins.items())
        if origin in by_origin
    }
    wire_layers = None
    if include_layers:
        ordered = sorted(layers, key=lambda layer: REPORTED_KINDS.index(layer.origin.kind))
        wire_layers = [
            WireConfigLayer(
                name=metadata[id(layer)].name,
                version=metadata[id(layer)].version,
                config=layer.table(),
            )
            for layer in ordered
        ]
    return ConfigReadResponse(config=_wire_config(effective), origins=origins, layers=wire_layers)


def _metadata(layer: ConfigLayer) -> ConfigLayerMetadata:
    return ConfigLayerMetadata(name=_source(layer.origin), version=layer_version(layer.table()))


def _source(origin: Origin) -> ConfigLayerSource:
    if origin.kind == LayerKind.USER and origin.file is not None:
        return UserConfigLayerSource(file=str(origin.file), profile=None)
    return SessionFlagsConfigLayerSource()


def _wire_config(effective: EffectiveConfig) -> Config:
    """Every schema key (null when unset), then every key the layers set that the schema's type
    accepts."""
    values: dict[str, Any] = dict.fromkeys(_schema_keys())
    invalid = {bad.key for bad in effective.invalid}
    for key, value in effective.raw.items():
        if key in invalid:
            continue
        cleaned = _without_invalid(value, key, invalid)
        try:
            Config.model_validate({key: cleaned})
        except ValidationError:
            log.debug("config/read leaves out %r: codex's schema refuses its value", key)
            continue
        values[key] = cleaned
    return Config.model_validate(values)


def _without_invalid(value: Any, key: str, invalid: set[str]) -> Any:
    """`value` (at dotted `key`) without the entries our validation dropped."""
    if isinstance(value, Mapping):
        return {
            name: _without_invalid(child, f"{key}.{name}", invalid)
            for name, child in value.items()
            if f"{key}.{name}" not in invalid
        }
    if isinstance(value, list):
        return [
            _without_invalid(child, f"{key}[{index}]", invalid)
            for index, child in enumerate(value)
            if f"{key}[{index}]" not in invalid
        ]
    return value


@cache
def _schema_keys() -> tuple[str, ...]:
    """The wire names of the schema's `Config` fields."""
    return tuple(field.alias or name for name, field in Config.model_fields.items())
