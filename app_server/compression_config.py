"""The store's cold-rollout compression settings, from the typed config (README, "Storage").

```toml
[rollout_compression]
enabled = true        # default: on (codex 0.169's switch is off by default)
min_age_days = 7      # a rollout not modified for this long is compressed

[features]
local_thread_store_compression = false   # codex's own switch: an explicit false turns it off too
```

The keys are checked with every other key when the config is loaded (a bad value is logged, its
default used, and clients told with a `configWarning`); this module only translates them into
the store's terms. It sits above both the config and the store, which know nothing of each other.
"""

from __future__ import annotations

from app_server.config import ConfigProblem, ServerConfig
from app_server.store.local.compression_worker import SECONDS_PER_DAY, CompressionSettings

SECTION = "rollout_compression"
CODEX_FEATURE = "features.local_thread_store_compression"


def compression_settings(config: ServerConfig) -> tuple[CompressionSettings, list[ConfigProblem]]:
    """The settings the config asks for, and the config's problems with these keys (the server
    reports them with all the others, from `ServerConfig.problems`)."""
    toml = config.toml
    enabled = toml.rollout_compression.enabled
    if toml.features.local_thread_store_compression is False:
        enabled = False
    settings = CompressionSettings(
        enabled=enabled, min_age_seconds=toml.rollout_compression.min_age_days * SECONDS_PER_DAY
    )
    return settings, [problem for problem in config.problems if _is_ours(problem.key)]


def _is_ours(key: str | None) -> bool:
    return key is not None and (key in (SECTION, CODEX_FEATURE) or key.startswith(f"{SECTION}."))
