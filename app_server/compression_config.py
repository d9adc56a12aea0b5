"""Read the cold-rollout compression switch from the configuration (README, "Storage").

```toml
[rollout_compression]
enabled = true        # default: on (codex 0.169's switch is off by default)
min_age_days = 7      # a rollout not modified for this long is compressed

[features]
local_thread_store_compression = false   # codex's own switch: an explicit false turns it off too
```

A bad value does not stop the server, as a broken `config.toml` does not: it is logged, its
default is used, and clients are told with a `configWarning` after `initialize`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from app_server.config import ConfigProblem, ServerConfig
from app_server.store.local.compression_worker import DEFAULT_MIN_AGE_SECONDS, CompressionSettings

log = logging.getLogger(__name__)

SECTION = "rollout_compression"
CODEX_FEATURE = "features.local_thread_store_compression"
DEFAULT_MIN_AGE_DAYS = DEFAULT_MIN_AGE_SECONDS / 86_400


def compression_settings(config: ServerConfig) -> tuple[CompressionSettings, list[ConfigProblem]]:
    """The settings the config asks for, and a problem for each value that was ignored."""
    problems: list[ConfigProblem] = []
    section = config.get(SECTION)
    if section is not None and not isinstance(section, Mapping):
        problems.append(_problem(SECTION, "a table", section, "using the defaults"))
        section = None
    enabled = _value(section, "enabled", True)
    if not isinstance(enabled, bool):
        problems.append(_problem(f"{SECTION}.enabled", "true or false", enabled, "using true"))
        enabled = True
    days = _value(section, "min_age_days", DEFAULT_MIN_AGE_DAYS)
    if not _is_age(days):
        problems.append(
            _problem(
                f"{SECTION}.min_age_days", "a number >= 0", days, f"using {DEFAULT_MIN_AGE_DAYS:g}"
            )
        )
        days = DEFAULT_MIN_AGE_DAYS
    feature = config.get(CODEX_FEATURE)
    if feature is not None and not isinstance(feature, bool):
        problems.append(_problem(CODEX_FEATURE, "true or false", feature, "ignored"))
    elif feature is False:
        enabled = False
    for problem in problems:
        log.warning("%s (%s)", problem.summary, problem.details)
    return CompressionSettings(enabled=enabled, min_age_seconds=float(days) * 86_400), problems


def _value(section: Mapping[str, Any] | None, key: str, default: Any) -> Any:
    return default if section is None else section.get(key, default)


def _is_age(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _problem(key: str, expected: str, value: Any, instead: str) -> ConfigProblem:
    return ConfigProblem(
        summary=f"Invalid `{key}` in config; {instead}",
        details=f"expected {expected}, got {value!r}",
    )
