"""Who this server says it is in the `initialize` answer: user agent and platform.

Apart from the handler so the `initialize` fast path (`rpc.fast_initialize`) builds the very same
answer without importing the protocol models.
"""

from __future__ import annotations

import os
import platform
import sys
from functools import cache

from app_server import PROTOCOL_VERSION


@cache
def _os_description() -> str:
    """`Debian 12`, `Mac OS 14.5`, … as in codex's user agent."""
    if sys.platform.startswith("linux"):
        try:
            release = platform.freedesktop_os_release()
            name = release.get("NAME", "Linux").split(" ")[0]
            return f"{name} {release.get('VERSION_ID', platform.release())}"
        except OSError:
            return f"Linux {platform.release()}"
    if sys.platform == "darwin":
        return f"Mac OS {platform.mac_ver()[0]}"
    return f"{platform.system()} {platform.release()}"


def _terminal() -> str:
    return os.environ.get("TERM_PROGRAM") or os.environ.get("TERM") or "unknown"


def platform_family() -> str:
    return "windows" if sys.platform == "win32" else "unix"


def platform_os() -> str:
    if sys.platform == "darwin":
        return "macos"
    if sys.platform == "win32":
        return "windows"
    return "linux"


def user_agent(client_name: str, client_version: str) -> str:
    """`<originator>/<version> (<os> <os version>; <arch>) <terminal> (<client>; <version>)`.

    0.169 takes the originator from the first client that initialized in the process; we use the
    connection's own client name (README, "Compatibility").
    """
    return (
        f"{client_name}/{PROTOCOL_VERSION} ({_os_description()}; {platform.machine()}) "
        f"{_terminal()} ({client_name}; {client_version})"
    )
