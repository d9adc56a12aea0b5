"""Process entry point (`app-server`, `python -m app_server`): start the bubblewrap probe before
anything else is imported (`early_probe`), then run the command line (`cli`)."""

from __future__ import annotations

import sys


def main() -> int:
    from app_server.early_probe import start_probe

    start_probe(sys.argv[1:])
    from app_server.cli import main as cli_main

    return cli_main()
