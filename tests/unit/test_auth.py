"""Who may listen where, and the capability-token check."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app_server.transport.auth import (
    CapabilityToken,
    ListenerConfigError,
    is_loopback,
    listener_token,
)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.2", "example.com"])
def test_exposed_hosts(host: str) -> None:
    assert not is_loopback(host)


def test_exposed_listener_needs_a_token() -> None:
    with pytest.raises(ListenerConfigError, match="non-loopback"):
        listener_token("0.0.0.0", auth_mode=None, token_file=None, token_sha256=None)


def test_loopback_listener_needs_no_token() -> None:
    assert listener_token("127.0.0.1", auth_mode=None, token_file=None, token_sha256=None) is None


def test_token_mode_without_a_token_is_refused() -> None:
    with pytest.raises(ListenerConfigError, match="needs --ws-token-file"):
        listener_token("0.0.0.0", auth_mode="capability-token", token_file=None, token_sha256=None)


def test_unsupported_auth_mode_is_refused() -> None:
    with pytest.raises(ListenerConfigError, match="not supported"):
        listener_token(
            "127.0.0.1", auth_mode="signed-bearer-token", token_file=None, token_sha256=None
        )


def test_token_file_and_digest_accept_the_same_bearer(tmp_path: Path) -> None:
    (tmp_path / "t").write_text("abc\n")
    by_file = CapabilityToken.from_file(tmp_path / "t")
    by_digest = CapabilityToken.from_sha256_hex(hashlib.sha256(b"abc").hexdigest())
    for token in (by_file, by_digest):
        assert token.accepts("Bearer abc")
        assert token.accepts("bearer  abc ")
        assert not token.accepts("Bearer abd")
        assert not token.accepts("Basic abc")
        assert not token.accepts(None)


def test_bad_digest_is_refused() -> None:
    with pytest.raises(ListenerConfigError):
        CapabilityToken.from_sha256_hex("not-hex")
