"""Command line: `app-server [app-server] [--listen URL] [--data-dir DIR] [-c key=value ...]`.

It must be a drop-in for the `codex` binary as client SDKs launch it (`<bin> app-server`,
`<bin> app-server --listen stdio://`, `<bin> -c k=v app-server --listen ws://…`), so a leading
`app-server` word is accepted and options may come before or after it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app_server import PROTOCOL_VERSION, __version__
from app_server.config.data_dir import resolve_data_dir
from app_server.config.early import RawConfig, read_layers
from app_server.config.problems import ConfigError
from app_server.pydantic_plugins import skip_discovery
from app_server.storage_admin.command import add_storage_arguments, run_storage, usage_problem
from app_server.transport.listen_address import ListenAddress

if TYPE_CHECKING:
    from app_server.transport.auth import CapabilityToken

EXIT_USAGE = 2

COMMANDS = ("serve", "generate-json-schema", "storage")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="app-server",
        description=(
            "JSON-RPC app-server speaking Codex's app-server protocol (v2, codex "
            f"{PROTOCOL_VERSION}) over stdio or WebSocket."
        ),
        epilog=(
            "commands: (none) serve clients; generate-json-schema --out DIR writes the JSON Schema "
            "of the protocol; storage report [--json] [--top N] says what the data dir holds; "
            "storage prune --older-than DURATION [--apply] removes old archived threads (a dry "
            "run unless --apply). A leading 'app-server' word is accepted, as for "
            "`codex app-server`."
        ),
    )
    parser.add_argument("command", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument(
        "--listen",
        default="stdio://",
        metavar="URL",
        help="stdio:// (default) or ws://IP:PORT (port 0 picks a free port)",
    )
    parser.add_argument("--stdio", action="store_true", help="same as --listen stdio://")
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where history and config live (default: $CODEX_HOME, else ~/.codex)",
    )
    parser.add_argument(
        "-c",
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config.toml value (dotted key, TOML value); repeatable",
    )
    parser.add_argument(
        "--store-url",
        metavar="URL",
        help="keep history in PostgreSQL (postgresql://USER@HOST:PORT/DB), shared by several "
        "processes; same as the config.toml key store_url (default: the data dir's files)",
    )
    parser.add_argument(
        "--ws-auth",
        metavar="MODE",
        help="WebSocket auth: capability-token (required to listen on a non-loopback address)",
    )
    parser.add_argument("--ws-token-file", type=Path, metavar="PATH", help="file holding the token")
    parser.add_argument("--ws-token-sha256", metavar="HEX", help="SHA-256 of the token, in hex")
    parser.add_argument("--out", type=Path, metavar="DIR", help="generate-json-schema: output dir")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("APP_SERVER_LOG_LEVEL", "warning"),
        choices=["debug", "info", "warning", "error"],
        help="stderr log level (default: $APP_SERVER_LOG_LEVEL or warning)",
    )
    add_storage_arguments(parser)
    parser.add_argument(
        "--version",
        action="version",
        version=f"app-server {__version__} (protocol {PROTOCOL_VERSION})",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_intermixed_args(sys.argv[1:] if argv is None else argv)
    words = list(args.command)
    if words and words[0] == "app-server":
        words = words[1:]
    command = words[0] if words else "serve"
    if command not in COMMANDS or (len(words) > 1 and command != "storage"):
        parser.error(f"unknown command: {' '.join(words)}")
    problem = usage_problem(words, args)
    if problem is not None:
        parser.error(problem)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if command == "generate-json-schema":
        return _generate_json_schema(parser, args.out)
    if command == "storage":
        return run_storage(words[1], args)
    skip_discovery()
    return _serve(parser, args)


def _generate_json_schema(parser: argparse.ArgumentParser, out: Path | None) -> int:
    if out is None:
        parser.error("generate-json-schema needs --out DIR")
    from app_server.schema_export import write_schema

    count = write_schema(out)
    print(f"wrote {count} schema files to {out}", file=sys.stderr)
    return 0


def _serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        listen = ListenAddress.parse("stdio://" if args.stdio else args.listen)
        token = None if listen.host is None else _websocket_token(listen.host, args)
        data_dir = resolve_data_dir(args.data_dir)
        raw = read_layers(data_dir, [*args.config, *_store_url_override(args.store_url)])
    except (ValueError, ConfigError) as exc:
        print(f"app-server: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if listen.host is None:  # `initialize` first, then the server (app_server.startup)
            from app_server.startup import serve_stdio_process

            serve_stdio_process(data_dir, raw)
        else:
            _serve_websocket(data_dir, raw, listen, token)
    except OSError as exc:
        print(f"app-server: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from app_server.store.errors import StoreUnavailable

        if not isinstance(exc, StoreUnavailable):
            raise
        print(f"app-server: error: cannot open the store: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def _store_url_override(url: str | None) -> list[str]:
    """`--store-url URL` as the `-c store_url=…` layer it stands for (a TOML string: JSON's
    escaping of a string is valid TOML)."""
    return [] if url is None else [f"store_url={json.dumps(url)}"]


def _websocket_token(host: str, args: argparse.Namespace) -> CapabilityToken | None:
    """The listener's token (imported here: stdio serving never needs `transport.auth`);
    a `ListenerConfigError` is a usage error like a bad `--listen` (ValueError)."""
    from app_server.transport.auth import ListenerConfigError, listener_token

    try:
        return listener_token(
            host,
            auth_mode=args.ws_auth,
            token_file=args.ws_token_file,
            token_sha256=args.ws_token_sha256,
        )
    except ListenerConfigError as exc:
        raise ValueError(str(exc)) from exc


def _serve_websocket(
    data_dir: Path, raw: RawConfig, listen: ListenAddress, token: CapabilityToken | None
) -> None:
    import asyncio

    from app_server.config.loader import ServerConfig
    from app_server.server import AppServer

    config = ServerConfig(data_dir, layers=raw.layers, problems=raw.problems)
    asyncio.run(AppServer(config).run(listen, token))
