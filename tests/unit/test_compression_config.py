"""`[rollout_compression]` and codex's feature switch → the store's compression settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app_server.compression_config import compression_settings
from app_server.config import ServerConfig
from app_server.store.local.compression_worker import CompressionSettings

DAY = 86_400


def settings_for(values: dict[str, Any]) -> tuple[CompressionSettings, list[str]]:
    settings, problems = compression_settings(ServerConfig(Path("/data"), values))
    return settings, [f"{p.summary} | {p.details}" for p in problems]


def test_compression_is_on_with_a_week_by_default() -> None:
    assert settings_for({}) == (CompressionSettings(enabled=True, min_age_seconds=7 * DAY), [])


def test_the_section_can_switch_it_off() -> None:
    settings, problems = settings_for({"rollout_compression": {"enabled": False}})
    assert (settings.enabled, problems) == (False, [])


def test_min_age_days_sets_the_age_including_fractions() -> None:
    settings, _ = settings_for({"rollout_compression": {"min_age_days": 1.5}})
    assert settings.min_age_seconds == 1.5 * DAY


def test_codex_feature_set_to_false_switches_it_off() -> None:
    settings, problems = settings_for({"features": {"local_thread_store_compression": False}})
    assert (settings.enabled, problems) == (False, [])


def test_codex_feature_set_to_true_does_not_override_our_switch() -> None:
    settings, _ = settings_for(
        {
            "features": {"local_thread_store_compression": True},
            "rollout_compression": {"enabled": False},
        }
    )
    assert settings.enabled is False


def test_a_non_boolean_enabled_is_reported_and_compression_stays_on() -> None:
    settings, problems = settings_for({"rollout_compression": {"enabled": "no"}})
    assert settings.enabled is True
    assert problems == [
        "Invalid `rollout_compression.enabled` in config; using true | expected true or false, "
        "got 'no'"
    ]


@pytest.mark.parametrize("value", [-1, "7", True, float("nan"), float("inf")])
def test_an_invalid_min_age_is_reported_and_a_week_used(value: Any) -> None:
    settings, problems = settings_for({"rollout_compression": {"min_age_days": value}})
    assert settings.min_age_seconds == 7 * DAY
    assert problems == [
        f"Invalid `rollout_compression.min_age_days` in config; using 7 | expected a number >= 0,"
        f" got {value!r}"
    ]


def test_a_section_that_is_not_a_table_is_reported_and_defaults_used() -> None:
    settings, problems = settings_for({"rollout_compression": False})
    assert settings == CompressionSettings()
    assert problems == [
        "Invalid `rollout_compression` in config; using the defaults | expected a table, got False"
    ]


def test_a_non_boolean_codex_feature_is_reported_and_ignored() -> None:
    settings, problems = settings_for({"features": {"local_thread_store_compression": "off"}})
    assert settings.enabled is True
    assert problems == [
        "Invalid `features.local_thread_store_compression` in config; ignored"
        " | expected true or false, got 'off'"
    ]
