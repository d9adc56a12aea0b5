"""Tool state that outlives one turn: one `ThreadWorkspace` per loaded thread.

Approvals a client gave "for the session" and processes left running in the background (unified
exec sessions the model polls with `write_stdin`) belong to the thread, not to the turn that
created them; they last until the thread is unloaded, which kills what still runs.
"""

from __future__ import annotations

from msgspec import Struct, field

from app_server.agent.approvals import ApprovalMemory
from app_server.agent.mcp.approval import McpApprovalMemory
from app_server.agent.tools.exec.background_terminals import BackgroundTerminals


class ThreadWorkspace(Struct):
    """A loaded thread's tool state (see the module docstring)."""

    bwrap: str | None
    """The bubblewrap executable that sandboxes commands, or None when unavailable (then every
    command under a read-only or workspace-write policy needs the client's approval)."""
    approvals: ApprovalMemory = field(default_factory=ApprovalMemory)
    mcp_approvals: McpApprovalMemory = field(default_factory=McpApprovalMemory)
    """MCP tools approved for the rest of the thread."""
    terminals: BackgroundTerminals = field(default_factory=BackgroundTerminals)
    command_items: dict[int, str] = field(default_factory=dict)
    """The `commandExecution` item (call id) of each process id, for `terminalInteraction`."""

    def close(self) -> None:
        """The thread is unloaded: kill its background processes."""
        self.terminals.kill_all()
