"""Server-generated ids: UUIDv7, as codex uses for threads, turns and user-message items.

UUIDv7 (RFC 9562) puts the creation time in milliseconds in the top 48 bits, so ids sort by
creation time; the rest is random. Python 3.11's `uuid` module has no `uuid7`, hence this.
"""

from __future__ import annotations

import os
import time
import uuid


def uuid7(unix_ms: int | None = None) -> str:
    """A new UUIDv7 string, e.g. `01a20eca-5439-72a2-80c1-2fa1707de308`."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
    random = int.from_bytes(os.urandom(10), "big")
    rand_a = random >> 68  # 12 bits
    rand_b = random & ((1 << 62) - 1)  # 62 bits
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def uuid7_time_ms(value: str) -> int:
    """The creation time (unix ms) encoded in a UUIDv7."""
    return uuid.UUID(value).int >> 80


def parse_thread_id(value: str) -> str:
    """Canonical form of a thread id, or ValueError with codex's wording for a malformed one."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(f"invalid thread id: {value}") from None
