"""Every config key this server reads, as one typed model (codex's names and TOML spelling).

`ConfigToml` is the only way code reads configuration: `config.toml`, `-c` overrides and a
thread's `config` object are merged (see `layers.py`) and checked against it once (see
`validation.py`), at startup and when a thread starts, never per request. A key missing here is
not read by anything; unknown keys stay in the raw table (for `config/read`) and are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from app_server.config.defaults import (
    DEFAULT_AGENTS_MAX_DEPTH,
    DEFAULT_AGENTS_MAX_THREADS,
    DEFAULT_APPROVAL_POLICY,
    DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    DEFAULT_IDLE_THREAD_UNLOAD_SECONDS,
    DEFAULT_MAX_SAMPLING_STEPS,
    DEFAULT_MCP_STARTUP_TIMEOUT_SEC,
    DEFAULT_MCP_TOOL_TIMEOUT_SEC,
    DEFAULT_MIN_WAIT_TIMEOUT_MS,
    DEFAULT_MODEL,
    DEFAULT_MODEL_PROVIDER,
    DEFAULT_REQUEST_MAX_RETRIES,
    DEFAULT_ROLLOUT_MIN_AGE_DAYS,
    DEFAULT_SANDBOX_MODE,
    DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    DEFAULT_STREAM_MAX_RETRIES,
)
from app_server.config.value_types import (
    Amount,
    ApplyPatchToolType,
    ApprovalPolicyValue,
    Count,
    Expect,
    Flag,
    Instead,
    Name,
    PositiveInt,
    ReasoningSummaryValue,
    SandboxModeValue,
    ShellToolType,
    Text,
    TextList,
    TextTable,
    WireApiValue,
)


class ConfigTable(BaseModel):
    """A table of typed keys. Unknown keys are ignored here (the raw table keeps them).

    Tables are made with `model_construct`, never validated as a whole: `validation.py` checks
    each value against its key's own type and builds the tables from what passed, and defaults
    are made the same way (`default_factory=<table>.model_construct`). So no table needs its
    pydantic validator, and none is built (`defer_build`): building the eleven of them took ~25
    ms of every server start, before the first request could be served (issue 17)."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class ModelProviderToml(ConfigTable):
    """`[model_providers.<id>]`. Every key is optional: a table named like a built-in provider
    overrides only the built-in's fields it sets."""

    name: Annotated[Text | None, Instead("using the provider id")] = None
    base_url: Text | None = None
    wire_api: Annotated[WireApiValue | None, Instead('using "responses"')] = None
    env_key: Text | None = None
    env_key_instructions: Text | None = None
    experimental_bearer_token: Text | None = None
    http_headers: TextTable | None = None
    env_http_headers: TextTable | None = None
    query_params: TextTable | None = None
    request_max_retries: Annotated[
        Count | None, Instead(f"using {DEFAULT_REQUEST_MAX_RETRIES}")
    ] = None
    stream_max_retries: Annotated[Count | None, Instead(f"using {DEFAULT_STREAM_MAX_RETRIES}")] = (
        None
    )
    stream_idle_timeout_ms: Annotated[
        PositiveInt | None, Instead(f"using {DEFAULT_STREAM_IDLE_TIMEOUT_MS}")
    ] = None


class ModelEntryToml(ConfigTable):
    """One `[[models]]` entry of `model/list` (a plain name is an entry with only `id`)."""

    id: Text | None = None
    model: Text | None = None
    """Accepted for `id` (the wire calls the same thing `model`)."""
    display_name: Text | None = None
    description: Text | None = None
    hidden: Flag = False
    reasoning_efforts: Annotated[list[Name], Expect("a list of non-empty strings")] | None = None
    default_reasoning_effort: Name | None = None


ModelListEntry = Annotated[Name | ModelEntryToml, Expect("a model name or a table")]


class SandboxWorkspaceWriteToml(ConfigTable):
    """`[sandbox_workspace_write]`: what `sandbox_mode = "workspace-write"` may touch."""

    writable_roots: TextList = Field(default_factory=list)
    network_access: Flag = False
    exclude_tmpdir_env_var: Flag = False
    exclude_slash_tmp: Flag = False


class FeaturesToml(ConfigTable):
    """`[features]`: codex's feature switches this server honours (others are ignored)."""

    multi_agent: Flag = True
    """The `multi_agent_v1` tools for new threads (on by default, as in 0.169)."""
    multi_agent_v2: Flag = False
    """The `collaboration` tools for new threads (wins over `multi_agent`)."""
    local_thread_store_compression: Flag | None = None
    """Codex's compression switch: an explicit false turns our compression off too."""


class AgentsToml(ConfigTable):
    """`[agents]`: limits of sub-agent trees."""

    max_threads: Count = DEFAULT_AGENTS_MAX_THREADS
    max_depth: Count = DEFAULT_AGENTS_MAX_DEPTH
    min_wait_timeout_ms: Count = DEFAULT_MIN_WAIT_TIMEOUT_MS


class McpServerToml(ConfigTable):
    """`[mcp_servers.<name>]`: one MCP server, codex's keys. A stdio server has `command`
    (with `args`, `env`, `env_vars`, `cwd`); a streamable-HTTP server has `url` (with
    `bearer_token_env_var`, `http_headers`, `env_http_headers`). `app_server.agent.mcp.spec`
    turns a table into a launch spec and says why one cannot be used."""

    command: Name | None = None
    args: TextList = Field(default_factory=list)
    env: TextTable = Field(default_factory=dict)
    env_vars: TextList = Field(default_factory=list)
    """Names of variables passed through from the app-server's own environment."""
    cwd: Text | None = None
    url: Name | None = None
    bearer_token_env_var: Name | None = None
    http_headers: TextTable = Field(default_factory=dict)
    env_http_headers: TextTable = Field(default_factory=dict)
    """Header name → name of the environment variable holding its value."""
    enabled: Flag = True
    required: Flag = False
    startup_timeout_sec: Amount = DEFAULT_MCP_STARTUP_TIMEOUT_SEC
    tool_timeout_sec: Amount = DEFAULT_MCP_TOOL_TIMEOUT_SEC
    enabled_tools: TextList | None = None
    """When set, only these tools are offered."""
    disabled_tools: TextList = Field(default_factory=list)


class RolloutCompressionToml(ConfigTable):
    """`[rollout_compression]` (ours): compression of cold rollouts (README, "Storage")."""

    enabled: Flag = True
    min_age_days: Amount = DEFAULT_ROLLOUT_MIN_AGE_DAYS


class SkillConfigToml(ConfigTable):
    """One `[[skills.config]]` entry: a skill chosen by `path` (its `SKILL.md`) or by `name`,
    turned on or off. codex writes only `enabled = false` entries (`skills/config/write`);
    enabling a skill removes its entry."""

    path: Text | None = None
    name: Text | None = None
    enabled: Flag = True


class SkillsToml(ConfigTable):
    """`[skills]`: per-skill switches (`skills/list`'s `enabled`, what the model is told)."""

    config: Annotated[list[SkillConfigToml], Expect("a list of tables")] = Field(
        default_factory=list
    )


class ConfigToml(ConfigTable):
    """Every key this server reads, at the top of `config.toml`."""

    model: Annotated[Name | None, Instead(f"using {DEFAULT_MODEL}")] = None
    model_provider: Name = DEFAULT_MODEL_PROVIDER
    model_providers: Annotated[dict[str, ModelProviderToml], Expect("a table")] = Field(
        default_factory=dict
    )
    models: Annotated[list[ModelListEntry], Expect("a list")] = Field(default_factory=list)
    model_reasoning_effort: Name | None = None
    model_reasoning_summary: ReasoningSummaryValue | None = None
    model_context_window: PositiveInt | None = None
    model_auto_compact_token_limit: PositiveInt | None = None
    model_supports_reasoning_summaries: Flag | None = None
    max_sampling_steps: PositiveInt = DEFAULT_MAX_SAMPLING_STEPS
    approval_policy: ApprovalPolicyValue = DEFAULT_APPROVAL_POLICY
    sandbox_mode: SandboxModeValue = DEFAULT_SANDBOX_MODE
    sandbox_workspace_write: SandboxWorkspaceWriteToml = Field(
        default_factory=SandboxWorkspaceWriteToml.model_construct
    )
    features: FeaturesToml = Field(default_factory=FeaturesToml.model_construct)
    agents: AgentsToml = Field(default_factory=AgentsToml.model_construct)
    shell_tool_type: ShellToolType = "unified_exec"
    apply_patch_tool_type: ApplyPatchToolType = "freeform"
    approval_timeout_seconds: Amount = DEFAULT_APPROVAL_TIMEOUT_SECONDS
    idle_thread_unload_seconds: Amount = DEFAULT_IDLE_THREAD_UNLOAD_SECONDS
    bwrap_path: Text | None = None
    rollout_compression: RolloutCompressionToml = Field(
        default_factory=RolloutCompressionToml.model_construct
    )
    mcp_servers: Annotated[dict[str, McpServerToml], Expect("a table")] = Field(
        default_factory=dict
    )
    developer_instructions: Text | None = None
    base_instructions: Text | None = None
    store_url: Text | None = None
    """Ours: `postgresql://USER@HOST:PORT/DB` keeps the history in PostgreSQL, shared by several
    processes (README, "PostgreSQL"); unset: the data dir's files. `--store-url` overrides it."""
    skills: SkillsToml = Field(default_factory=SkillsToml.model_construct)


KNOWN_TOP_LEVEL_KEYS = frozenset(ConfigToml.model_fields)
"""Top-level keys some part of this server reads; anything else is kept and ignored."""

PROVIDER_ID_PLACEHOLDER = "<id>"
"""Stands for the table name in `model_providers.<id>.…` when keys are listed."""


def key_paths(table: type[ConfigTable] = ConfigToml, prefix: str = "") -> Iterator[str]:
    """Every key of the model, dotted (`agents.max_threads`, `model_providers.<id>.name`), in
    declaration order: tables are walked, lists and plain values are one key each."""
    for name, field in table.model_fields.items():
        key = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, ConfigTable):
            yield from key_paths(annotation, f"{key}.")
        elif get_origin(annotation) is dict and _is_table(get_args(annotation)[1]):
            yield from key_paths(get_args(annotation)[1], f"{key}.{PROVIDER_ID_PLACEHOLDER}.")
        else:
            yield key


def _is_table(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, ConfigTable)
