"""UUIDv7 generation and thread id parsing."""

from __future__ import annotations

import uuid

import pytest

from app_server.ids import parse_thread_id, uuid7, uuid7_time_ms


def test_uuid7_has_version_7_and_rfc_variant() -> None:
    value = uuid.UUID(uuid7())
    assert value.version == 7
    assert value.variant == uuid.RFC_4122


def test_uuid7_encodes_its_creation_time() -> None:
    assert uuid7_time_ms(uuid7(1_795_544_471_186)) == 1_795_544_471_186


def test_uuid7s_sort_by_creation_time() -> None:
    ids = [uuid7(ms) for ms in (1, 2, 3, 1000, 10**12)]
    assert ids == sorted(ids)


def test_uuid7s_are_unique() -> None:
    assert len({uuid7(5) for _ in range(1000)}) == 1000


def test_thread_id_is_canonicalized() -> None:
    assert parse_thread_id("01A20ECA-5439-72A2-80C1-2FA1707DE308") == (
        "01a20eca-5439-72a2-80c1-2fa1707de308"
    )


def test_malformed_thread_id_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid thread id: nope"):
        parse_thread_id("nope")
