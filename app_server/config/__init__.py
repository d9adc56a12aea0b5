"""Configuration: one typed model of every key (codex's names), loaded once, never fatal.

Modules, one concept each:
- `defaults`: the default of every key, as named constants;
- `value_types`: the value types, each saying what it expects in a warning's words;
- `keys`: `ConfigToml`, the typed model of every key this server reads;
- `validation`: lenient checking: a bad value is dropped (its default applies) and reported;
- `layers`: defaults < `config.toml` < `-c` < thread < turn, and the origin of each value;
- `effective`: `EffectiveConfig`, the layers merged and checked, with origins and the raw table;
- `problems`: `ConfigProblem` (a `configWarning`), `InvalidValue`, `ConfigError`;
- `loader`: the data dir, `load_config` and `ServerConfig`.

Thread settings built from the config (model, cwd, policies) live in `app_server.settings`.
"""

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
from app_server.config.loader import ServerConfig, load_config, resolve_data_dir
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
