"""A model's reasoning efforts: the ones it supports and its default.

From the model's `[[models]]` entry in the config, else codex 0.169's fallback metadata for a
model it has no catalog entry for. `model/list` reports them; a sub-agent spawned without an
effort is reported with the default.
"""

from __future__ import annotations

from app_server.config import ConfigToml
from app_server.config.keys import ModelEntryToml

FALLBACK_EFFORTS = ("low", "medium", "high")
"""Reasoning efforts of a model the config's `[[models]]` does not describe."""
FALLBACK_DEFAULT_EFFORT = "medium"
"""Codex 0.169's default effort for a model without catalog metadata."""


def entry_efforts(entry: ModelEntryToml) -> tuple[list[str], str]:
    """The efforts a `[[models]]` entry supports and its default (codex's fallback metadata
    for what the entry leaves out)."""
    efforts = list(entry.reasoning_efforts or FALLBACK_EFFORTS)
    default = entry.default_reasoning_effort or (
        FALLBACK_DEFAULT_EFFORT if FALLBACK_DEFAULT_EFFORT in efforts else efforts[0]
    )
    return efforts, default


def model_efforts(config: ConfigToml, model: str) -> tuple[list[str], str]:
    """The efforts a model supports and its default (its `[[models]]` entry, else codex's
    fallback metadata): `model/list` reports them, and a sub-agent spawned without an effort
    is reported with the default, as codex 0.169 does."""
    for entry in config.models:
        data = ModelEntryToml.model_construct(id=entry) if isinstance(entry, str) else entry
        if (data.id or data.model) == model:
            return entry_efforts(data)
    return entry_efforts(ModelEntryToml.model_construct())
