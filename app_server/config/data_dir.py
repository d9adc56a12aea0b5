"""Where the data dir is: codex's convention, so one data dir serves both programs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def resolve_data_dir(explicit: str | None, environ: Mapping[str, str] = os.environ) -> Path:
    """`--data-dir`, else `$CODEX_HOME` (when non-empty), else `~/.codex`; made absolute."""
    if explicit:
        chosen = Path(explicit).expanduser()
    elif environ.get("CODEX_HOME"):
        chosen = Path(environ["CODEX_HOME"]).expanduser()
    else:
        chosen = Path.home() / ".codex"
    return chosen.absolute()
