"""Config layers: how they merge, where each value came from, and which file a problem names."""

from __future__ import annotations

from pathlib import Path

from app_server.config import (
    DEFAULT_ORIGIN,
    SESSION_FLAGS_ORIGIN,
    THREAD_ORIGIN,
    ConfigLayer,
    EffectiveConfig,
    LayerKind,
    load_config,
    user_origin,
)

FILE = Path("/data/config.toml")


def layered(file: dict[str, object], *flags: tuple[str, object]) -> EffectiveConfig:
    return EffectiveConfig.from_layers(
        [
            ConfigLayer.from_table(user_origin(FILE), file),
            ConfigLayer.from_dotted(SESSION_FLAGS_ORIGIN, dict(flags)),
        ]
    )


def test_a_value_from_the_file_has_the_file_as_origin() -> None:
    config = layered({"model": "a"})
    assert config.origin("model") == user_origin(FILE)
    assert config.origin("model").kind is LayerKind.USER


def test_an_unset_key_comes_from_the_defaults() -> None:
    assert layered({}).origin("max_sampling_steps") == DEFAULT_ORIGIN


def test_a_dotted_override_keeps_the_rest_of_the_files_table() -> None:
    config = layered({"agents": {"max_threads": 5, "max_depth": 2}}, ("agents.max_depth", 4))
    assert (config.toml.agents.max_threads, config.toml.agents.max_depth) == (5, 4)
    assert config.origin("agents.max_threads") == user_origin(FILE)
    assert config.origin("agents.max_depth") == SESSION_FLAGS_ORIGIN


def test_a_table_override_replaces_the_files_table() -> None:
    config = layered({"agents": {"max_threads": 5}}, ("agents", {"max_depth": 4}))
    assert config.toml.agents.max_threads == 3
    assert config.raw["agents"] == {"max_depth": 4}
    assert config.origin("agents.max_threads") == DEFAULT_ORIGIN  # its table was replaced


def test_a_table_key_reports_the_highest_layer_among_its_values() -> None:
    config = layered({"agents": {"max_threads": 5}}, ("agents.max_depth", 4))
    assert config.origin("agents") == SESSION_FLAGS_ORIGIN


def test_a_list_element_comes_from_where_its_list_came_from() -> None:
    assert layered({"models": ["a", 5]}).origin("models[1]") == user_origin(FILE)


def test_a_bad_value_from_the_file_names_the_file() -> None:
    [problem] = layered({"max_sampling_steps": "many"}).problems
    assert problem.path == str(FILE)


def test_a_bad_value_from_a_flag_names_no_file() -> None:
    [problem] = layered({}, ("max_sampling_steps", "many")).problems
    assert problem.path is None


def test_a_valid_override_hides_a_bad_value_below_it() -> None:
    assert layered({"max_sampling_steps": "many"}, ("max_sampling_steps", 9)).problems == ()


def test_the_raw_table_keeps_unknown_and_invalid_values() -> None:
    config = layered({"mystery": {"a": 1}, "max_sampling_steps": "many"})
    assert config.raw == {"mystery": {"a": 1}, "max_sampling_steps": "many"}
    assert config.raw_value("mystery.a") == 1


def test_a_new_layer_leaves_the_config_below_unchanged() -> None:
    server = layered({"agents": {"max_threads": 5}})
    thread = server.with_layer(ConfigLayer.from_dotted(THREAD_ORIGIN, {"agents.max_threads": 1}))
    assert (server.toml.agents.max_threads, thread.toml.agents.max_threads) == (5, 1)
    assert server.raw == {"agents": {"max_threads": 5}}
    assert thread.origin("agents.max_threads") == THREAD_ORIGIN
    assert thread.layers[-1].origin == THREAD_ORIGIN


def test_the_problems_a_layer_brought_in_are_told_apart() -> None:
    server = layered({"max_sampling_steps": "many"})
    thread = server.with_layer(ConfigLayer.from_dotted(THREAD_ORIGIN, {"agents.max_depth": "x"}))
    assert [bad.key for bad in thread.invalid_from(THREAD_ORIGIN)] == ["agents.max_depth"]


def test_a_layer_lists_its_own_values_as_a_table() -> None:
    layer = ConfigLayer.from_dotted(THREAD_ORIGIN, {"a.b": 1, "a.c": 2, "d": 3})
    assert layer.table() == {"a": {"b": 1, "c": 2}, "d": 3}


def test_load_config_puts_flags_over_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("max_sampling_steps = 5\nbwrap_path = '/b'\n")
    config = load_config(tmp_path, ["max_sampling_steps=7"])
    assert (config.toml.max_sampling_steps, config.toml.bwrap_path) == (7, "/b")
    assert config.origin("max_sampling_steps") == SESSION_FLAGS_ORIGIN
    assert config.origin("bwrap_path") == user_origin(tmp_path / "config.toml")


def test_load_config_reports_a_bad_file_value_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('max_sampling_steps = "many"\n')
    config = load_config(tmp_path, [])
    assert [(p.key, p.path) for p in config.problems] == [
        ("max_sampling_steps", str(tmp_path / "config.toml"))
    ]
    assert config.toml.max_sampling_steps == 200
