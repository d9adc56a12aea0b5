"""A `[mcp_servers.NAME]` table as a launch spec: what to run (or where to connect) and its limits.

Codex's keys (`codex mcp add`): a stdio server has `command`, `args`, `env`, `env_vars`, `cwd`;
a streamable-HTTP server has `url`, `bearer_token_env_var`, `http_headers`, `env_http_headers`.
A stdio server's process gets only what codex passes: a few basic variables of the app-server's
own environment (`DEFAULT_ENV_VARS`), the names listed in `env_vars`, then `env`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

from msgspec import Struct, field
from msgspec.structs import replace

from app_server.config.keys import McpServerToml

DEFAULT_ENV_VARS = (
    "HOME",
    "LOGNAME",
    "PATH",
    "SHELL",
    "USER",
    "__CF_USER_TEXT_ENCODING",
    "LANG",
    "LC_ALL",
    "TERM",
    "TMPDIR",
    "TZ",
)
"""Variables of the app-server's environment every stdio server gets (codex's list)."""

NAMESPACE_PREFIX = "mcp__"
"""The model sees a server's tools in the namespace `mcp__<sanitized server name>`."""


class McpCallError(Exception):
    """A call the server did not answer with a result (timeout, crash, protocol error, or the
    server is not running); the message is what the item's `error` and the model show."""


class McpSpecError(ValueError):
    """A server table that cannot be launched (no `command` nor `url`, or both)."""


class McpServerSpec(Struct, frozen=True):
    """How to reach one server and its limits (see the module docstring)."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    cwd: str | None = None
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    required: bool = False
    startup_timeout_sec: float = 10.0
    tool_timeout_sec: float = 60.0
    enabled_tools: frozenset[str] | None = None
    disabled_tools: frozenset[str] = field(default_factory=frozenset)

    @property
    def namespace(self) -> str:
        return NAMESPACE_PREFIX + sanitize_name(self.name)

    @property
    def fingerprint(self) -> str:
        """Equal for two specs that launch the same thing (a reload keeps such a server)."""
        launch = [self.command, self.args, self.env, self.cwd, self.url, self.headers]
        return hashlib.sha256(json.dumps(launch).encode()).hexdigest()[:16]

    def offers(self, tool: str) -> bool:
        """`enabled_tools` (when set) then `disabled_tools` decide what the model is offered."""
        if self.enabled_tools is not None and tool not in self.enabled_tools:
            return False
        return tool not in self.disabled_tools


def sanitize_name(name: str) -> str:
    """Codex's spelling of a server name in a tool namespace: `my-srv.x` → `my_srv_x`."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def server_spec(name: str, table: McpServerToml, environ: Mapping[str, str]) -> McpServerSpec:
    """The launch spec of an enabled server table; `McpSpecError` says why one is unusable."""
    if table.command is None and table.url is None:
        raise McpSpecError(f"mcp_servers.{name}: set `command` (stdio) or `url` (HTTP)")
    if table.command is not None and table.url is not None:
        raise McpSpecError(f"mcp_servers.{name}: set either `command` or `url`, not both")
    limits = McpServerSpec(
        name=name,
        required=table.required,
        startup_timeout_sec=table.startup_timeout_sec,
        tool_timeout_sec=table.tool_timeout_sec,
        enabled_tools=None if table.enabled_tools is None else frozenset(table.enabled_tools),
        disabled_tools=frozenset(table.disabled_tools),
    )
    if table.command is not None:
        env: dict[str, str] = {}
        for var in (*DEFAULT_ENV_VARS, *table.env_vars):
            if var in environ:
                env[var] = environ[var]
        env.update(table.env)
        return replace(
            limits,
            command=table.command,
            args=tuple(table.args),
            env=tuple(sorted(env.items())),
            cwd=table.cwd,
        )
    headers = dict(table.http_headers)
    for header, var in table.env_http_headers.items():
        if environ.get(var):
            headers[header] = environ[var]
    if table.bearer_token_env_var is not None and environ.get(table.bearer_token_env_var):
        headers["Authorization"] = f"Bearer {environ[table.bearer_token_env_var]}"
    return replace(limits, url=table.url, headers=tuple(sorted(headers.items())))


def server_specs(
    tables: Mapping[str, McpServerToml], environ: Mapping[str, str]
) -> tuple[dict[str, McpServerSpec], dict[str, str]]:
    """The enabled servers' specs by name, and the reason each unusable one is left out."""
    specs: dict[str, McpServerSpec] = {}
    problems: dict[str, str] = {}
    for name, table in sorted(tables.items()):
        if not table.enabled:
            continue
        try:
            specs[name] = server_spec(name, table, environ)
        except McpSpecError as exc:
            problems[name] = str(exc)
    return specs, problems
