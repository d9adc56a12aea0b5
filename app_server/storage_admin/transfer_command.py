"""`app-server storage export --to DIR` / `storage import --from DIR`: the PostgreSQL store's
history to and from a codex data dir (`store.postgres.transfer`).

The store is the one `--store-url` (or `store_url` in `config.toml`) names. Exit codes: 0 done,
1 something was not transferred (unreadable rollouts, conflicting threads, an export target
that holds rollouts already), 2 no PostgreSQL URL or the database cannot be opened.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import msgspec

from app_server.store.errors import StoreUnavailable

EXIT_INCOMPLETE = 1
EXIT_USAGE = 2


def run_transfer(action: str, url: str | None, directory: Path, *, as_json: bool) -> int:
    """Run `storage export` or `storage import`; the exit code."""
    from app_server.store.postgres.connect import is_postgres_url

    if url is None or not is_postgres_url(url):
        print(
            f"app-server: error: storage {action} needs --store-url postgresql://… "
            "(or store_url in config.toml)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if action == "export" and _holds_rollouts(directory):
        print(
            f"app-server: error: {directory} holds rollouts already; export to a new directory",
            file=sys.stderr,
        )
        return EXIT_INCOMPLETE
    if action == "import" and not directory.is_dir():
        print(f"app-server: error: {directory} is not a directory", file=sys.stderr)
        return EXIT_INCOMPLETE
    try:
        return asyncio.run(_transfer(action, url, directory, as_json=as_json))
    except StoreUnavailable as error:
        print(f"app-server: error: cannot open the store: {error}", file=sys.stderr)
        return EXIT_USAGE


async def _transfer(action: str, url: str, directory: Path, *, as_json: bool) -> int:
    from app_server.store.local.compression_worker import CompressionSettings
    from app_server.store.postgres.store import PostgresThreadStore
    from app_server.store.postgres.transfer import export_home, import_home

    store = PostgresThreadStore(url, compression=CompressionSettings(enabled=False))
    await store.start()
    try:
        if action == "export":
            report = await export_home(store, directory)
        else:
            report = await import_home(store, directory)
    finally:
        await store.close()
    if as_json:
        sys.stdout.write(
            json.dumps({"action": action, **msgspec.to_builtins(report)}, indent=2) + "\n"
        )
    else:
        verb = "exported" if action == "export" else "imported"
        sys.stdout.write(
            f"{verb} {report.threads} threads ({report.lines} lines), {report.names} names\n"
        )
        marks = report.marks
        sys.stdout.write(
            f"{verb} {marks.receipts} read receipts, {marks.goals} goals,"
            f" {marks.patches} metadata patches\n"
        )
        if action == "import":
            sys.stdout.write(f"already present: {report.present}\n")
            for thread_id in report.conflicts:
                sys.stdout.write(f"conflict (stored with other lines, left alone): {thread_id}\n")
            for problem in report.unreadable:
                sys.stdout.write(f"unreadable: {problem}\n")
    return EXIT_INCOMPLETE if report.conflicts or report.unreadable else 0


def _holds_rollouts(directory: Path) -> bool:
    return any(
        next((directory / sub).rglob("rollout-*"), None) is not None
        for sub in ("sessions", "archived_sessions")
    )
