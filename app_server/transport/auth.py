"""WebSocket listener security: who may bind where, and the capability-token check.

A loopback listener serves the local user only and needs no token. Any other bind address would
expose the agent (which runs shell commands) to the network, so the server refuses to start there
unless a capability token is configured; the token is then required on every WebSocket upgrade
as `Authorization: Bearer <token>` and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from pathlib import Path

from msgspec import Struct


class ListenerConfigError(Exception):
    """The listen address and auth options do not make a safe listener (startup refuses)."""


class CapabilityToken(Struct, frozen=True):
    """The SHA-256 of the token every WebSocket upgrade must present."""

    sha256: bytes

    @classmethod
    def from_file(cls, path: Path) -> CapabilityToken:
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ListenerConfigError(f"cannot read --ws-token-file {path}: {exc}") from None
        if not token:
            raise ListenerConfigError(f"--ws-token-file {path} is empty")
        return cls(hashlib.sha256(token.encode()).digest())

    @classmethod
    def from_sha256_hex(cls, digest: str) -> CapabilityToken:
        try:
            raw = bytes.fromhex(digest.strip())
        except ValueError:
            raw = b""
        if len(raw) != hashlib.sha256().digest_size:
            raise ListenerConfigError("--ws-token-sha256 must be 64 hexadecimal characters")
        return cls(raw)

    def accepts(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header carries the token (constant-time comparison)."""
        presented = b""
        if authorization is not None:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() == "bearer":
                presented = value.strip().encode()
        digest = hashlib.sha256(presented).digest()
        return hmac.compare_digest(digest, self.sha256) and bool(presented)


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback IP literals; any other name is treated as exposed."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listener_token(
    host: str,
    *,
    auth_mode: str | None,
    token_file: Path | None,
    token_sha256: str | None,
) -> CapabilityToken | None:
    """The token to require, or None for an unauthenticated loopback listener.

    Raises `ListenerConfigError` for contradictory options or an exposed listener without auth.
    """
    if auth_mode not in (None, "capability-token"):
        raise ListenerConfigError(
            f"--ws-auth {auth_mode} is not supported; use --ws-auth capability-token"
        )
    if token_file is not None and token_sha256 is not None:
        raise ListenerConfigError("give either --ws-token-file or --ws-token-sha256, not both")
    token: CapabilityToken | None = None
    if token_file is not None:
        token = CapabilityToken.from_file(token_file)
    elif token_sha256 is not None:
        token = CapabilityToken.from_sha256_hex(token_sha256)
    if auth_mode == "capability-token" and token is None:
        raise ListenerConfigError(
            "--ws-auth capability-token needs --ws-token-file PATH or --ws-token-sha256 HEX"
        )
    if token is not None and auth_mode is None:
        raise ListenerConfigError("a WebSocket token was given without --ws-auth capability-token")
    if token is None and not is_loopback(host):
        raise ListenerConfigError(
            f"refusing to listen on non-loopback address {host} without authentication; "
            "use --ws-auth capability-token --ws-token-file PATH (or --ws-token-sha256 HEX), "
            "or listen on 127.0.0.1"
        )
    return token
