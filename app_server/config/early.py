"""Reading `config.toml` and the `-c` overrides into layers, before anything is validated.

Why apart from `loader`: the process answers `initialize` before it imports pydantic and the
typed config model (`app_server.startup`). What it needs that early (refusing a malformed `-c`
with a usage error, the `bwrap_path` to probe) comes from the raw layers read here;
`load_config` then validates the same layers, so the file is read once.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

from msgspec import Struct

from app_server.config.layers import (
    ConfigLayer,
    apply_layer,
    cli_overrides_layer,
    lookup,
    user_origin,
)
from app_server.config.problems import CONFIG_FILE_NAME, ConfigProblem, unreadable_file_problem

log = logging.getLogger(__name__)


class RawConfig(Struct, frozen=True):
    """The config layers as read (file, then `-c`), and the problems of a file that could not
    be read."""

    layers: tuple[ConfigLayer, ...]
    problems: tuple[ConfigProblem, ...]

    def raw_text(self, dotted_key: str) -> str | None:
        """The merged raw value at `dotted_key` when it is a string, else None.

        That is what a strict-string key with a None default (`bwrap_path`) validates to: a value
        of another type is reported later by validation and its default (None) applies."""
        table: dict[str, Any] = {}
        for layer in self.layers:
            apply_layer(table, {}, layer)
        value = lookup(table, dotted_key)
        return value if isinstance(value, str) else None


def read_layers(data_dir: Path, overrides: list[str]) -> RawConfig:
    """`config.toml` (if any) under the `-c` overrides; a broken file becomes a problem.

    A malformed `-c` raises `ConfigError` (a usage error: the process exits before serving)."""
    path = data_dir / CONFIG_FILE_NAME
    table: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    try:
        with path.open("rb") as file:
            table = tomllib.load(file)
    except FileNotFoundError:
        pass
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        problems.append(unreadable_file_problem(path, str(exc)))
    layers = (ConfigLayer.from_table(user_origin(path), table), cli_overrides_layer(overrides))
    return RawConfig(layers, tuple(problems))


def read_user_table(path: Path) -> dict[str, Any] | None:
    """`config.toml` read again (a reload): its table, `{}` when absent, None when unreadable
    (the caller keeps what it had)."""
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None
