"""Whether this machine can run the bubblewrap sandbox, for tests that need it or must ignore it.

README's test command has to pass on a fresh machine with only Python: tests that need a working
`bwrap` skip there (`.ci/run` installs the Debian package `bubblewrap`, so CI runs them), and
tests that count `configWarning`s leave out the sandbox's own warning, which the server sends
whenever bubblewrap is missing.
"""

from __future__ import annotations

from typing import Any

import pytest

from app_server.agent.tools.exec.sandbox import find_bwrap
from app_server.server import NO_SANDBOX_SUMMARY

BWRAP = find_bwrap()
"""The working bwrap on PATH, or None (probed once per test session)."""

requires_bwrap = pytest.mark.skipif(
    BWRAP is None,
    reason="needs a working bubblewrap (`apt-get install bubblewrap`; .ci/run installs it)",
)
"""Marks a test that runs commands under the real sandbox."""


def is_sandbox_warning(message: dict[str, Any]) -> bool:
    """Whether a `configWarning` is the server's "no bubblewrap" warning."""
    return bool(message["params"]["summary"] == NO_SANDBOX_SUMMARY)


def not_sandbox_warning(message: dict[str, Any]) -> bool:
    """Every other `configWarning` (config, store): what tests about those count."""
    return not is_sandbox_warning(message)
