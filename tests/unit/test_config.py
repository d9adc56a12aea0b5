"""Config layering: config.toml under `-c key=value` overrides, Codex style."""

from __future__ import annotations

from pathlib import Path

import pytest

from app_server.config import ConfigError, load_config, parse_override, resolve_data_dir


def test_override_value_is_parsed_as_toml() -> None:
    assert parse_override("model_providers.x.request_max_retries=4") == (
        ["model_providers", "x", "request_max_retries"],
        4,
    )
    assert parse_override('features.a=["b", "c"]') == (["features", "a"], ["b", "c"])


def test_override_value_that_is_not_toml_is_a_plain_string() -> None:
    assert parse_override("model=gpt-5.1-codex") == (["model"], "gpt-5.1-codex")


@pytest.mark.parametrize("text", ["novalue", "=x", "a..b=1"])
def test_malformed_override_is_an_error(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_override(text)


def test_overrides_win_over_the_file_and_keep_its_other_keys(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('model = "a"\n[model_providers.p]\nbase_url = "u"\n')
    config = load_config(tmp_path, ["model=b", "model_providers.p.env_key=K"])
    assert config.get("model") == "b"
    assert config.get("model_providers.p") == {"base_url": "u", "env_key": "K"}


def test_unknown_keys_are_kept_and_ignored(tmp_path: Path) -> None:
    config = load_config(tmp_path, ["totally_unknown.key=1"])
    assert config.get("totally_unknown.key") == 1
    assert config.problems == ()


def test_broken_config_file_becomes_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("model = \n")
    config = load_config(tmp_path, ["model=x"])
    assert config.get("model") == "x"
    assert config.problems[0].path == str(tmp_path / "config.toml")


def test_data_dir_prefers_flag_then_codex_home_then_home() -> None:
    assert resolve_data_dir("/a", {"CODEX_HOME": "/b"}) == Path("/a")
    assert resolve_data_dir(None, {"CODEX_HOME": "/b"}) == Path("/b")
    assert resolve_data_dir(None, {"CODEX_HOME": ""}) == Path.home() / ".codex"
