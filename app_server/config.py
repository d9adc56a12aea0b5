"""Configuration: the data dir, `<data dir>/config.toml` and `-c key=value` overrides.

Codex's conventions, so one data dir and one set of habits serve both programs: the data dir is
`$CODEX_HOME` (else `~/.codex`); `-c key=value` takes a dotted key and a TOML value (falling back
to a plain string when the value is not valid TOML) and overrides the file; unknown keys are kept
and ignored with a debug log. Later layers (thread and turn overrides) build on the merged table.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CONFIG_FILE_NAME = "config.toml"

KNOWN_TOP_LEVEL_KEYS = frozenset(
    {
        "model",
        "model_provider",
        "model_providers",
        "model_reasoning_effort",
        "model_reasoning_summary",
        "model_context_window",
        "model_auto_compact_token_limit",
        "approval_policy",
        "sandbox_mode",
        "sandbox_workspace_write",
        "features",
        "history_mode",
        "rollout_compression",
        "agents",
        "developer_instructions",
        "base_instructions",
        "shell_environment_policy",
    }
)
"""Top-level keys some part of this server reads; anything else is accepted and ignored."""


class ConfigError(Exception):
    """A config layer could not be read; the message says which and why."""


@dataclass(frozen=True)
class ConfigProblem:
    """A problem reported to clients as a `configWarning` after `initialize`."""

    summary: str
    details: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class ServerConfig:
    """The resolved configuration the server starts with."""

    data_dir: Path
    values: Mapping[str, Any] = field(default_factory=dict)
    problems: tuple[ConfigProblem, ...] = ()

    def get(self, dotted_key: str, default: Any = None) -> Any:
        """Look up `a.b.c` in the merged table."""
        return lookup(self.values, dotted_key, default)


def resolve_data_dir(explicit: str | None, environ: Mapping[str, str] = os.environ) -> Path:
    """`--data-dir`, else `$CODEX_HOME` (when non-empty), else `~/.codex`; made absolute."""
    if explicit:
        chosen = Path(explicit).expanduser()
    elif environ.get("CODEX_HOME"):
        chosen = Path(environ["CODEX_HOME"]).expanduser()
    else:
        chosen = Path.home() / ".codex"
    return chosen.absolute()


def parse_override(text: str) -> tuple[list[str], Any]:
    """`model_providers.x.base_url="http://…"` → (["model_providers", "x", "base_url"], value)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"invalid -c override {text!r}: expected key=value")
    parts = [part.strip() for part in key.split(".")]
    if any(not part for part in parts):
        raise ConfigError(f"invalid -c override {text!r}: empty key segment")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw
    return parts, value


def _set_path(table: dict[str, Any], parts: list[str], value: Any) -> None:
    node = table
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def with_overrides(values: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `values` with dotted-key overrides applied (`thread/start.config`, `-c`)."""
    merged = _deep_copy(values)
    for key, value in overrides.items():
        parts = [part.strip() for part in key.split(".") if part.strip()]
        if parts:
            _set_path(merged, parts, value)
    return merged


def _deep_copy(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in values.items()}


def lookup(values: Mapping[str, Any], dotted_key: str, default: Any = None) -> Any:
    """Look up `a.b.c` in a nested table."""
    node: Any = values
    for part in dotted_key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def load_config(data_dir: Path, overrides: list[str]) -> ServerConfig:
    """Merge `config.toml` (if any) with the overrides; a broken file becomes a warning.

    A broken `config.toml` does not stop the server: it starts on defaults plus the overrides and
    clients are told why with a `configWarning`. A malformed `-c` raises `ConfigError`.
    """
    values: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    path = data_dir / CONFIG_FILE_NAME
    try:
        with path.open("rb") as file:
            values = tomllib.load(file)
    except FileNotFoundError:
        pass
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        problems.append(
            ConfigProblem(f"Invalid {CONFIG_FILE_NAME}; using defaults", str(exc), str(path))
        )
    for text in overrides:
        parts, value = parse_override(text)
        _set_path(values, parts, value)
    for key in values:
        if key not in KNOWN_TOP_LEVEL_KEYS:
            log.debug("config key %r is not used by this server; ignored", key)
    return ServerConfig(data_dir=data_dir, values=values, problems=tuple(problems))
