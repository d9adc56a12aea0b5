"""What clients are told when bubblewrap is missing: one `configWarning` after `initialize`.

Apart from the composition root so the `initialize` fast path (`app_server.startup`) sends the
same warning, rendered without the protocol models (`tests/unit/test_fast_initialize.py` checks
it is byte for byte the notification the server would render).
"""

from __future__ import annotations

import time

import orjson

NO_SANDBOX_SUMMARY = (
    "Could not find a working bubblewrap (bwrap): commands cannot be sandboxed on this machine."
)
NO_SANDBOX_DETAILS = (
    "Install the `bubblewrap` package (or set `bwrap_path` in config.toml). Until then, every "
    "command under a read-only or workspace-write sandbox policy asks for your approval and "
    "runs unsandboxed once approved; under `approvalPolicy: never` such commands are refused."
)
CONFIG_WARNING_METHOD = "configWarning"


def no_sandbox_warning_line(emitted_at_ms: int | None = None) -> bytes:
    """The whole `configWarning` notification about the missing sandbox (no newline), stamped
    now unless told when."""
    if emitted_at_ms is None:
        emitted_at_ms = time.time_ns() // 1_000_000
    params = {
        "details": NO_SANDBOX_DETAILS,
        "path": None,
        "range": None,
        "summary": NO_SANDBOX_SUMMARY,
    }
    return orjson.dumps(
        {"method": CONFIG_WARNING_METHOD, "params": params, "emittedAtMs": emitted_at_ms}
    )
