"""Configuration: one typed model of every key (codex's names), loaded once, never fatal.

Modules, one concept each:
- `defaults`: the default of every key, as named constants;
- `value_types`: the value types, each saying what it expects in a warning's words;
- `keys`: `ConfigToml`, the typed model of every key this server reads;
- `validation`: lenient checking: a bad value is dropped (its default applies) and reported;
- `layers`: defaults < `config.toml` < `-c` < thread < turn, and the origin of each value;
- `effective`: `EffectiveConfig`, the layers merged and checked, with origins and the raw table;
- `problems`: `ConfigProblem` (a `configWarning`), `InvalidValue`, `ConfigError`;
- `data_dir`: where the data dir is (`--data-dir`, `$CODEX_HOME`, `~/.codex`);
- `early`: `config.toml` and `-c` read into layers, and raw values needed before validation;
- `loader`: `load_config` and `ServerConfig`.

Thread settings built from the config (model, cwd, policies) live in `app_server.settings`.

Importing this package is cheap: the names below load their module on first use (the
`initialize` fast path reads `config.toml` through `early` and must not pay for pydantic).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app_server.config.data_dir import resolve_data_dir
    from app_server.config.effective import EffectiveConfig, default_config
    from app_server.config.keys import KNOWN_TOP_LEVEL_KEYS, ConfigToml, key_paths
    from app_server.config.layers import (
        DEFAULT_ORIGIN,
        SESSION_FLAGS_ORIGIN,
        THREAD_ORIGIN,
        TURN_ORIGIN,
        ConfigLayer,
        LayerKind,
        Origin,
        parse_override,
        user_origin,
    )
    from app_server.config.loader import ServerConfig, load_config
    from app_server.config.problems import (
        CONFIG_FILE_NAME,
        ConfigError,
        ConfigProblem,
        InvalidValue,
    )
    from app_server.config.validation import ValidatedConfig, validate_config

__all__ = [
    "CONFIG_FILE_NAME",
    "DEFAULT_ORIGIN",
    "KNOWN_TOP_LEVEL_KEYS",
    "SESSION_FLAGS_ORIGIN",
    "THREAD_ORIGIN",
    "TURN_ORIGIN",
    "ConfigError",
    "ConfigLayer",
    "ConfigProblem",
    "ConfigToml",
    "EffectiveConfig",
    "InvalidValue",
    "LayerKind",
    "Origin",
    "ServerConfig",
    "ValidatedConfig",
    "default_config",
    "key_paths",
    "load_config",
    "parse_override",
    "resolve_data_dir",
    "user_origin",
    "validate_config",
]

_MODULE_OF = {
    "CONFIG_FILE_NAME": "problems",
    "ConfigError": "problems",
    "ConfigProblem": "problems",
    "InvalidValue": "problems",
    "DEFAULT_ORIGIN": "layers",
    "SESSION_FLAGS_ORIGIN": "layers",
    "THREAD_ORIGIN": "layers",
    "TURN_ORIGIN": "layers",
    "ConfigLayer": "layers",
    "LayerKind": "layers",
    "Origin": "layers",
    "parse_override": "layers",
    "user_origin": "layers",
    "KNOWN_TOP_LEVEL_KEYS": "keys",
    "ConfigToml": "keys",
    "key_paths": "keys",
    "EffectiveConfig": "effective",
    "default_config": "effective",
    "ServerConfig": "loader",
    "load_config": "loader",
    "resolve_data_dir": "data_dir",
    "ValidatedConfig": "validation",
    "validate_config": "validation",
}


def __getattr__(name: str) -> Any:
    """Load the module that defines `name` on first use (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
