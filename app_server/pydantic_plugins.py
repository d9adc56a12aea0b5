"""The server process skips pydantic's plugin discovery (issue 17: time to the first turn).

pydantic looks for plugins (the `pydantic` entry points of every installed distribution) when it
builds its first validator, and the module that looks imports `importlib.metadata`, which brings
`email`, `zipfile`, `bz2`, `socket` and more: ~45 ms CPU of every server start, about a tenth of
what spawn → first `turn/completed` cost, for plugins this server neither ships nor supports
(they observe validation, e.g. logfire's). So before pydantic builds anything, `skip_discovery`
puts in place of pydantic's private loader module a stand-in that reports no plugins, exactly
what pydantic does when `PYDANTIC_DISABLE_PLUGINS=__all__` is set, minus the import.

pydantic is pinned (pyproject); `tests/unit/test_startup_imports.py` fails if a later pydantic
builds a validator without going through the module replaced here.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable

LOADER_MODULE = "pydantic.plugin._loader"
"""pydantic's plugin loader: `create_schema_validator` imports `get_plugins` from it."""


def _no_plugins() -> Iterable[object]:
    return ()


def skip_discovery() -> None:
    """Make pydantic find no plugins without importing `importlib.metadata` (a no-op once
    pydantic's own loader was imported: then discovery already ran or costs nothing more)."""
    if LOADER_MODULE in sys.modules:
        return
    stand_in = types.ModuleType(LOADER_MODULE, "No pydantic plugins (app_server.pydantic_plugins).")
    stand_in.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules[LOADER_MODULE] = stand_in
