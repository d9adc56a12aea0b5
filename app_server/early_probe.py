"""The bubblewrap probe, started first thing in a process that will serve clients (issue 17).

The stdio startup (`app_server.startup`) answers `initialize` with the "no sandbox"
`configWarning` in the same write when bubblewrap is missing, so the answer waits for the probe
(a sandboxed `true`: 5 to 15 ms, several times that on a loaded machine, spent waiting on a
child process). Started there, after the command line module and the config are loaded, the
probe is still running when the first line has been read. Started here, before those imports
(~60 ms), it runs on another core while they do, and its verdict (cached per path by
`find_bwrap`) is in when the answer is built.

This probes the default bwrap (`bwrap` on PATH), which is the one probed unless `bwrap_path` is
configured; a configured path is probed as before, after the config is read. Commands that do
not serve (`storage`, `generate-json-schema`) skip it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

log = logging.getLogger(__name__)

NOT_SERVING: frozenset[str] = frozenset({"generate-json-schema", "storage"})
"""Command words that never serve a client: no probe for them. Any argument equal to one of them
skips the probe (a false match costs only the head start, as the server probes anyway)."""


def start_probe(argv: Sequence[str]) -> threading.Thread | None:
    """Probe the default bwrap in a daemon thread, unless `argv` names a command that does not
    serve; returns the thread (None when skipped)."""
    if NOT_SERVING.intersection(argv):
        return None
    thread = threading.Thread(target=_probe_default, name="bwrap early probe", daemon=True)
    thread.start()
    return thread


def _probe_default() -> None:
    try:
        from app_server.agent.tools.exec.sandbox import find_bwrap

        find_bwrap(None)
    except Exception:  # the server probes again and tells
        log.debug("early bubblewrap probe failed", exc_info=True)
