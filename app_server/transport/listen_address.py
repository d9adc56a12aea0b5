"""Where to serve, as `--listen` spells it: stdio or a WebSocket address."""

from __future__ import annotations

from msgspec import Struct


class ListenAddress(Struct, frozen=True):
    """Where to serve: stdio (`host` None) or a WebSocket listener."""

    host: str | None = None
    port: int = 0

    @classmethod
    def parse(cls, text: str) -> ListenAddress:
        """`stdio://` (or `stdio`) or `ws://IP:PORT`; raises ValueError otherwise."""
        if text in ("stdio", "stdio://"):
            return cls()
        if text.startswith("ws://"):
            hostport = text[len("ws://") :].rstrip("/")
            host, sep, port = hostport.rpartition(":")
            if sep and host and port.isdigit() and int(port) < 65536:
                return cls(host.strip("[]"), int(port))
        raise ValueError(f"invalid --listen {text!r}: expected stdio:// or ws://IP:PORT")
