"""The `storage` command line: `app-server storage report [--json] [--top N]`,
`app-server storage prune --older-than DURATION [--apply] [--json]`, and the PostgreSQL store's
`storage export --to DIR` / `storage import --from DIR` (`transfer_command`).

`app_server.cli` has one flat parser (a leading `app-server` word and options anywhere, as
codex's SDKs launch it); this module adds the storage options to it, checks that they are only
used with the action they belong to (so `app-server --apply` cannot silently serve), and runs
the action. The data dir is resolved as for serving (`--data-dir`, else `$CODEX_HOME`, else
`~/.codex`) and `config.toml`/`-c` are loaded so a malformed `-c` is refused the same way.

Exit codes: 0 done (skips are not errors), 1 the data dir does not exist or a deletion failed,
2 usage errors (reported through the parser, like every other usage error of the program).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app_server.config.data_dir import resolve_data_dir
from app_server.config.problems import ConfigError
from app_server.storage_admin.durations import DURATION_HELP, InvalidDuration, parse_duration

STORAGE_COMMAND = "storage"
ACTIONS = ("report", "prune", "export", "import")
DEFAULT_TOP = 10
STORAGE_USAGE = (
    "usage: app-server storage report [--json] [--top N]"
    " | app-server storage prune --older-than DURATION [--apply] [--json]"
    " | app-server storage export --to DIR [--store-url URL]"
    " | app-server storage import --from DIR [--store-url URL]"
)
EXIT_MISSING_DATA_DIR = 1

_OPTION_ACTIONS = {
    "json": ("--json", ("report", "prune", "export", "import")),
    "top": ("--top", ("report",)),
    "older_than": ("--older-than", ("prune",)),
    "apply": ("--apply", ("prune",)),
    "export_to": ("--to", ("export",)),
    "import_from": ("--from", ("import",)),
}
"""Each storage option's attribute: its spelling and the actions it belongs to."""


def add_storage_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `storage report` and `storage prune` to the program's parser."""
    group = parser.add_argument_group("storage report / storage prune")
    group.add_argument(
        "--json", action="store_true", default=None, help="machine-readable output (JSON)"
    )
    group.add_argument(
        "--top",
        type=int,
        metavar="N",
        help=f"report: how many of the largest rollouts to list (default {DEFAULT_TOP})",
    )
    group.add_argument(
        "--older-than",
        metavar="DURATION",
        help=f"prune: archived threads last modified more than DURATION ago; {DURATION_HELP}",
    )
    group.add_argument(
        "--apply",
        action="store_true",
        default=None,
        help="prune: really delete (without it, prune is a dry run that changes nothing)",
    )
    group.add_argument(
        "--to",
        dest="export_to",
        type=Path,
        metavar="DIR",
        help="export: write the PostgreSQL store's history as a codex data dir to DIR",
    )
    group.add_argument(
        "--from",
        dest="import_from",
        type=Path,
        metavar="DIR",
        help="import: load the codex or local data dir DIR into the PostgreSQL store",
    )


def usage_problem(words: list[str], args: argparse.Namespace) -> str | None:
    """What is wrong with a command line as far as the storage command goes, else `None`.

    `words` are the command words after the optional leading `app-server`.
    """
    storage = words[:1] == [STORAGE_COMMAND]
    action = words[1] if storage and len(words) == 2 else None
    if storage and len(words) == 1:
        return f"storage needs an action, {', '.join(ACTIONS)}; {STORAGE_USAGE}"
    if storage and action not in ACTIONS:
        return f"unknown storage command: {' '.join(words)}; {STORAGE_USAGE}"
    for attribute, (spelling, actions) in _OPTION_ACTIONS.items():
        if getattr(args, attribute) is not None and action not in actions:
            return f"{spelling} is only valid with: " + ", ".join(
                f"storage {name}" for name in actions
            )
    if action == "prune":
        if args.older_than is None:
            return f"storage prune needs --older-than DURATION ({DURATION_HELP})"
        try:
            parse_duration(args.older_than)
        except InvalidDuration as exc:
            return f"--older-than: {exc}"
    if action == "export" and args.export_to is None:
        return "storage export needs --to DIR"
    if action == "import" and args.import_from is None:
        return "storage import needs --from DIR"
    if args.top is not None and args.top < 0:
        return "--top must be 0 or more"
    return None


def run_storage(action: str, args: argparse.Namespace) -> int:
    """Run `storage <action>` (after `usage_problem` found nothing); the exit code."""
    import asyncio

    from app_server.config.loader import load_config

    try:
        config = load_config(resolve_data_dir(args.data_dir), args.config)
    except ConfigError as exc:
        print(f"app-server: error: {exc}", file=sys.stderr)
        return 2
    data_dir = config.data_dir
    if action in ("export", "import"):
        from app_server.storage_admin.transfer_command import run_transfer

        url = args.store_url or config.toml.store_url
        return run_transfer(
            action, url, args.export_to or args.import_from, as_json=bool(args.json)
        )
    if not data_dir.is_dir():
        print(f"app-server: error: data dir {data_dir} does not exist", file=sys.stderr)
        return EXIT_MISSING_DATA_DIR
    from app_server.storage_admin import render

    if action == "report":
        from app_server.storage_admin.inventory import build_report

        report = build_report(data_dir, top=DEFAULT_TOP if args.top is None else args.top)
        _emit(render.report_json(report) if args.json else render.report_text(report))
        return 0

    from app_server.storage_admin.prune_apply import apply_plan
    from app_server.storage_admin.prune_plan import make_plan

    plan = make_plan(data_dir, parse_duration(args.older_than), args.older_than)
    if not args.apply:
        _emit(render.plan_json(plan) if args.json else render.plan_text(plan))
        return 0
    result = asyncio.run(apply_plan(plan))
    _emit(render.result_json(plan, result) if args.json else render.result_text(plan, result))
    return 1 if result.failed else 0


def _emit(output: str | dict[str, object]) -> None:
    if isinstance(output, str):
        sys.stdout.write(output)
    else:
        sys.stdout.write(json.dumps(output, indent=2) + "\n")
