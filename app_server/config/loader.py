"""Loading the server's configuration: the data dir, `<data dir>/config.toml` and `-c` overrides.

Codex's conventions, so one data dir and one set of habits serve both programs: the data dir is
`$CODEX_HOME` (else `~/.codex`); `-c key=value` takes a dotted key and a TOML value (falling back
to a plain string when the value is not valid TOML) and overrides the file. The result is checked
once against the typed model; what is wrong is logged here and told to clients after
`initialize`, and never stops the server.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from app_server.config.data_dir import resolve_data_dir
from app_server.config.early import read_layers
from app_server.config.effective import EffectiveConfig
from app_server.config.keys import ConfigToml
from app_server.config.layers import (
    ConfigLayer,
    LayerKind,
    Origin,
    user_origin,
)
from app_server.config.problems import CONFIG_FILE_NAME, ConfigProblem

log = logging.getLogger(__name__)


class ServerConfig:
    """The configuration the server starts with: its data dir and the effective config."""

    def __init__(
        self,
        data_dir: Path,
        values: Mapping[str, Any] | None = None,
        *,
        layers: Sequence[ConfigLayer] | None = None,
        problems: Sequence[ConfigProblem] = (),
    ) -> None:
        """`values` is a whole `config.toml` table (tests, tools); `load_config` passes the
        `layers` it read instead, and the `problems` of files it could not read."""
        if layers is None:
            layers = [
                ConfigLayer.from_table(user_origin(data_dir / CONFIG_FILE_NAME), values or {})
            ]
        self.data_dir = data_dir
        self.effective = EffectiveConfig.from_layers(layers)
        self.problems: tuple[ConfigProblem, ...] = (*problems, *self.effective.problems)
        """Everything clients are told about after `initialize`, in the order it was found."""
        for problem in self.effective.problems:
            log.warning("%s (%s)", problem.summary, problem.details)
        for key in self.effective.unknown:
            log.debug("config key %r is not used by this server; ignored", key)

    @property
    def user_file(self) -> Path:
        """The `config.toml` this server reads and `config/value/write` edits."""
        return self.data_dir / CONFIG_FILE_NAME

    def replace_user_table(self, table: Mapping[str, Any]) -> None:
        """Take a new `config.toml` table (after a write): the effective config is rebuilt with
        it in place of the old user layer, under the same `-c` flags. Threads started from now
        on use it; running threads keep the config they started with."""
        user = ConfigLayer.from_table(user_origin(self.user_file), table)
        layers = [
            user if layer.origin.kind == LayerKind.USER else layer
            for layer in self.effective.layers
        ]
        if not any(layer.origin.kind == LayerKind.USER for layer in layers):
            layers.insert(0, user)
        self.effective = EffectiveConfig.from_layers(layers)

    @property
    def toml(self) -> ConfigToml:
        """The typed values: what the server reads."""
        return self.effective.toml

    def get(self, dotted_key: str, default: Any = None) -> Any:
        """The raw value at `a.b.c` (for `config/read`, not for settings)."""
        return self.effective.raw_value(dotted_key, default)

    def origin(self, dotted_key: str) -> Origin:
        return self.effective.origin(dotted_key)


def load_config(data_dir: Path, overrides: list[str]) -> ServerConfig:
    """`config.toml` (if any) under the `-c` overrides; a broken file becomes a problem.

    A broken `config.toml` does not stop the server: it starts on defaults plus the overrides and
    clients are told why with a `configWarning`. A malformed `-c` raises `ConfigError`.
    """
    raw = read_layers(data_dir, overrides)
    return ServerConfig(data_dir, layers=raw.layers, problems=raw.problems)


__all__ = ["ServerConfig", "load_config", "resolve_data_dir"]
