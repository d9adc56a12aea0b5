"""Which tools a turn offers the model (AGENT_LOOP.md §5), from the thread's config.

What 0.169 offers a custom model: `exec_command` + `write_stdin` (unified exec), `apply_patch`
as a freeform tool, `update_plan`, `view_image`, and the `clock` namespace. Older shell spellings
(`shell` with an argv, `shell_command` with a string, `local_shell` calls) are always *run* when
a model calls them, and offered instead of unified exec when `shell_tool_type` asks for them.

Config keys (`config.toml`, `-c`, or a thread's `config`):
- `shell_tool_type`: `"unified_exec"` (default), `"shell"` or `"shell_command"`;
- `apply_patch_tool_type`: `"freeform"` (default) or `"function"` (for endpoints without custom
  tools);
- `features.multi_agent_v2` (the `collaboration` namespace) and `features.multi_agent` (the
  `multi_agent_v1` namespace, on by default, as in 0.169): which sub-agent tools a *new* thread
  gets; the choice is recorded in its `session_meta` and kept for its life;
- `agents.min_wait_timeout_ms`: the floor of `wait_agent` timeouts (default 10000).
"""

from __future__ import annotations

from app_server.agent.tools.apply_patch import ApplyPatchTool
from app_server.agent.tools.clock import CurrTimeTool, SleepTool
from app_server.agent.tools.collaboration import collaboration_tools
from app_server.agent.tools.command_tools import (
    ExecCommandTool,
    LocalShellTool,
    ShellCommandTool,
    ShellTool,
    WriteStdinTool,
)
from app_server.agent.tools.multi_agent_v1 import multi_agent_v1_tools
from app_server.agent.tools.registry import Tool, ToolRegistry, ToolSource
from app_server.agent.tools.update_plan import UpdatePlanTool
from app_server.agent.tools.view_image import ViewImageTool
from app_server.config import ConfigToml


def multi_agent_version_for(config: ConfigToml) -> str | None:
    """Which multi-agent tools a new thread gets: `v2`, `v1` or None."""
    if config.features.multi_agent_v2:
        return "v2"
    if config.features.multi_agent:
        return "v1"
    return None


def shell_tools(config: ConfigToml) -> list[Tool]:
    """The shell tools: every spelling is run when called, the configured one is offered."""
    shell_type = config.shell_tool_type
    unified = shell_type == "unified_exec"
    return [
        ExecCommandTool(offered=unified),
        WriteStdinTool(offered=unified),
        ShellTool(offered=shell_type == "shell"),
        ShellCommandTool(offered=shell_type == "shell_command"),
        LocalShellTool(),
    ]


def turn_tools(
    config: ConfigToml,
    multi_agent_version: str | None = None,
    sources: tuple[ToolSource, ...] = (),
) -> ToolRegistry:
    """The registry for one turn of a thread with the given multi-agent generation; `sources`
    add tools known only when the turn begins (the thread's MCP servers')."""
    freeform = config.apply_patch_tool_type == "freeform"
    min_wait_ms = config.agents.min_wait_timeout_ms
    agent_tools: list[Tool] = []
    if multi_agent_version == "v2":
        agent_tools.extend(collaboration_tools(min_wait_ms))
    elif multi_agent_version == "v1":
        agent_tools.extend(multi_agent_v1_tools(min_wait_ms))
    return ToolRegistry(
        [
            *shell_tools(config),
            ApplyPatchTool(freeform=freeform),
            UpdatePlanTool(),
            ViewImageTool(),
            *agent_tools,
            SleepTool(),
            CurrTimeTool(),
        ],
        sources,
    )
