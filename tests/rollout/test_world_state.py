"""World state: RFC 7386 merge patches, JSON equality, and the snapshot/patch tracker."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app_server.rollout.lines import WorldStatePayload
from app_server.rollout.world_state import (
    WorldState,
    merge_patch,
    merge_patch_between,
    same_json,
    world_state_payload,
)

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)

# RFC 7386, Appendix A: (original, patch, result), as JSON text.
RFC_7386_EXAMPLES = [
    ('{"a":"b"}', '{"a":"c"}', '{"a":"c"}'),
    ('{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'),
    ('{"a":"b"}', '{"a":null}', "{}"),
    ('{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'),
    ('{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'),
    ('{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'),
    ('{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'),
    ('{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'),
    ('["a","b"]', '["c","d"]', '["c","d"]'),
    ('{"a":"b"}', '["c"]', '["c"]'),
    ('{"a":"foo"}', "null", "null"),
    ('{"a":"foo"}', '"bar"', '"bar"'),
    ('{"e":null}', '{"a":1}', '{"e":null,"a":1}'),
    ("[1,2]", '{"a":"b","c":null}', '{"a":"b"}'),
    ("{}", '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}'),
]

# --- strategies -------------------------------------------------------------------------------

keys = st.text(max_size=3)
scalars = (
    st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3),
    max_leaves=8,
)
"""JSON values without null."""
json_objects = st.dictionaries(keys, json_values, max_size=4)
"""JSON objects without null (world states)."""
merge_patches = st.recursive(
    st.dictionaries(keys, st.none() | json_values, max_size=3),
    lambda children: st.dictionaries(keys, st.none() | json_values | children, max_size=3),
    max_leaves=6,
)
"""Merge patches: objects whose values may be null (delete), a value, or a nested patch."""

operations = st.lists(
    st.tuples(st.just("snapshot"), json_objects)
    | st.tuples(st.just("update"), json_objects)
    | st.tuples(st.just("patch"), merge_patches),
    max_size=8,
)


def drive(live: WorldState, ops: list[tuple[str, Any]]) -> list[WorldStatePayload]:
    """Apply `ops` to `live`; returns the payloads it asked to persist."""
    payloads: list[WorldStatePayload] = []
    for kind, value in ops:
        if kind == "snapshot":
            payload: WorldStatePayload | None = live.snapshot(value)
        elif kind == "update":
            payload = live.update(value)
        else:
            payload = live.update(merge_patch(live.state or {}, value))
        if payload is not None:
            payloads.append(payload)
    return payloads


# --- merge_patch ------------------------------------------------------------------------------


@pytest.mark.parametrize(("original", "patch", "result"), RFC_7386_EXAMPLES)
def test_merge_patch_matches_rfc_7386_appendix_a(original: str, patch: str, result: str) -> None:
    assert same_json(merge_patch(json.loads(original), json.loads(patch)), json.loads(result))


def test_merge_patch_modifies_neither_argument() -> None:
    target = {"a": {"b": 1}, "c": [1]}
    patch = {"a": {"b": None, "d": [2]}, "c": None}

    merge_patch(target, patch)

    assert target == {"a": {"b": 1}, "c": [1]}
    assert patch == {"a": {"b": None, "d": [2]}, "c": None}


def test_merge_patch_result_shares_no_mutable_value_with_the_patch() -> None:
    patch: dict[str, Any] = {"a": {"list": [1]}}

    result = merge_patch({}, patch)
    result["a"]["list"].append(2)

    assert patch == {"a": {"list": [1]}}


# --- same_json --------------------------------------------------------------------------------


def test_same_json_distinguishes_true_from_one() -> None:
    assert not same_json(True, 1)
    assert not same_json({"a": [True]}, {"a": [1]})


def test_same_json_distinguishes_int_from_float() -> None:
    assert not same_json(1, 1.0)
    assert not same_json({"a": 1}, {"a": 1.0})


def test_same_json_accepts_equal_nested_values() -> None:
    assert same_json({"a": [1, {"b": "c"}], "d": 1.5}, {"d": 1.5, "a": [1, {"b": "c"}]})


def test_same_json_distinguishes_lists_of_different_lengths() -> None:
    assert not same_json([1, 2], [1, 2, 3])


# --- merge_patch_between ----------------------------------------------------------------------


def test_merge_patch_between_equal_states_is_empty() -> None:
    state = {"cwd": "/work", "env": {"a": [1, 2]}, "flag": True}

    assert merge_patch_between(state, json.loads(json.dumps(state))) == {}


def test_merge_patch_between_patches_nested_objects_key_by_key() -> None:
    old = {"env": {"a": "1", "b": "2"}, "cwd": "/work"}
    new = {"env": {"a": "1", "c": "3"}, "cwd": "/work"}

    assert merge_patch_between(old, new) == {"env": {"b": None, "c": "3"}}


def test_merge_patch_between_replaces_a_value_whose_type_changed() -> None:
    assert merge_patch_between({"n": 1}, {"n": 1.0}) == {"n": 1.0}


@PROPERTY_SETTINGS
@given(json_objects, json_objects)
def test_merge_patch_between_turns_old_into_new(old: dict[str, Any], new: dict[str, Any]) -> None:
    assert same_json(merge_patch(old, merge_patch_between(old, new)), new)


# --- WorldState -------------------------------------------------------------------------------


def test_world_state_payload_is_a_copy() -> None:
    state: dict[str, Any] = {"env": {"a": "1"}}

    payload = world_state_payload(state, full=True)
    state["env"]["a"] = "2"

    assert payload == {"full": True, "state": {"env": {"a": "1"}}}


def test_update_without_a_state_records_a_snapshot() -> None:
    assert WorldState().update({"cwd": "/work"}) == {"full": True, "state": {"cwd": "/work"}}


def test_update_returns_none_when_unchanged() -> None:
    live = WorldState()
    live.snapshot({"cwd": "/work", "env": {"a": "1"}})

    assert live.update({"cwd": "/work", "env": {"a": "1"}}) is None


def test_update_records_the_patch_against_the_current_state() -> None:
    live = WorldState()
    live.snapshot({"cwd": "/work", "date": "today"})

    payload = live.update({"cwd": "/other"})

    assert payload == {"full": False, "state": {"cwd": "/other", "date": None}}
    assert live.state == {"cwd": "/other"}


def test_replay_ignores_a_patch_before_any_snapshot() -> None:
    replayed = WorldState()

    replayed.replay({"full": False, "state": {"cwd": "/work"}})

    assert replayed.state is None


def test_replay_skips_a_malformed_payload() -> None:
    replayed = WorldState({"cwd": "/work"})

    replayed.replay({"full": True, "state": "not an object"})

    assert replayed.state == {"cwd": "/work"}


def test_replay_applies_a_patch_after_a_snapshot() -> None:
    replayed = WorldState()

    replayed.replay({"full": True, "state": {"cwd": "/work", "env": {"a": "1"}}})
    replayed.replay({"full": False, "state": {"env": {"a": None, "b": "2"}}})

    assert replayed.state == {"cwd": "/work", "env": {"b": "2"}}


@PROPERTY_SETTINGS
@given(operations)
def test_world_state_rebuilt_from_snapshot_and_patches_equals_the_live_one(
    ops: list[tuple[str, Any]],
) -> None:
    live = WorldState()
    payloads = drive(live, ops)

    replayed = WorldState()
    for payload in payloads:
        replayed.replay(payload)

    assert same_json(replayed.state, live.state)


@PROPERTY_SETTINGS
@given(operations)
def test_world_state_never_records_an_empty_patch(ops: list[tuple[str, Any]]) -> None:
    payloads = drive(WorldState(), ops)

    assert all(payload["state"] for payload in payloads if payload["full"] is False)


@PROPERTY_SETTINGS
@given(json_objects, json_objects)
def test_update_leaves_the_tracker_in_the_given_state(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    live = WorldState()
    live.snapshot(first)

    live.update(second)

    assert same_json(live.state, second)
