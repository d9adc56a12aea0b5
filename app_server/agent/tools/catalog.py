"""Which tools a turn offers the model (AGENT_LOOP.md §5), from the thread's config.

What 0.169 offers a custom model: `exec_command` + `write_stdin` (unified exec), `apply_patch`
as a freeform tool, `update_plan`, `view_image`, and the `clock` namespace. Older shell spellings
(`shell` with an argv, `shell_command` with a string, `local_shell` calls) are always *run* when
a model calls them, and offered instead of unified exec when `shell_tool_type` asks for them.

Config keys (`config.toml`, `-c`, or a thread's `config`):
- `shell_tool_type`: `"unified_exec"` (default), `"shell"` or `"shell_command"`;
- `apply_patch_tool_type`: `"freeform"` (default) or `"function"` (for endpoints without custom
  tools).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app_server.agent.tools.apply_patch import ApplyPatchTool
from app_server.agent.tools.clock import CurrTimeTool, SleepTool
from app_server.agent.tools.command_tools import (
    ExecCommandTool,
    LocalShellTool,
    ShellCommandTool,
    ShellTool,
    WriteStdinTool,
)
from app_server.agent.tools.registry import ToolRegistry
from app_server.agent.tools.update_plan import UpdatePlanTool
from app_server.agent.tools.view_image import ViewImageTool
from app_server.config import lookup

SHELL_TOOL_TYPES = ("unified_exec", "shell", "shell_command")


def turn_tools(config: Mapping[str, Any]) -> ToolRegistry:
    """The registry for one turn."""
    shell_type = lookup(config, "shell_tool_type", "unified_exec")
    if shell_type not in SHELL_TOOL_TYPES:
        shell_type = "unified_exec"
    freeform = lookup(config, "apply_patch_tool_type", "freeform") != "function"
    unified = shell_type == "unified_exec"
    return ToolRegistry(
        [
            ExecCommandTool(offered=unified),
            WriteStdinTool(offered=unified),
            ShellTool(offered=shell_type == "shell"),
            ShellCommandTool(offered=shell_type == "shell_command"),
            LocalShellTool(),
            ApplyPatchTool(freeform=freeform),
            UpdatePlanTool(),
            ViewImageTool(),
            SleepTool(),
            CurrTimeTool(),
        ]
    )
