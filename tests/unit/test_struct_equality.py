"""Equality of the two records that leave a field out of it (they were dataclasses with
`field(compare=False)`; as msgspec Structs they say so in their own `__eq__`)."""

from __future__ import annotations

from msgspec.structs import replace

from app_server.rollout.model_history import ModelHistory
from app_server.settings import ResolvedSettings
from app_server.store.interface import ThreadHistory
from protocol.types import ReadOnlySandboxPolicy
from tests.store.thread_record_factory import make_record

SETTINGS = ResolvedSettings(
    model="gpt-test",
    model_provider="mock",
    cwd="/work",
    approval_policy="on-request",
    approvals_reviewer="user",
    sandbox=ReadOnlySandboxPolicy(),
)


def test_settings_equal_whatever_request_set_them() -> None:
    assert replace(SETTINGS, requested={"model": "thread"}) == SETTINGS


def test_settings_differ_when_a_compared_field_does() -> None:
    assert replace(SETTINGS, model="other") != SETTINGS


def test_histories_equal_with_or_without_the_model_summary() -> None:
    history = ThreadHistory(record=make_record(1), turns=[], next_ordinal=None, byte_size=0)
    assert replace(history, model_summary=ModelHistory()) == history


def test_histories_differ_when_their_size_does() -> None:
    history = ThreadHistory(record=make_record(1), turns=[], next_ordinal=None, byte_size=0)
    assert replace(history, byte_size=1) != history
