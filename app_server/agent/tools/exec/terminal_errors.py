"""The errors of a background-terminal operation, each worded as codex tells the model.

`BackgroundTerminals` raises them; the `exec_command` / `write_stdin` tools put their message in
their failed tool output, and `thread/backgroundTerminals/terminate` answers `terminated: false`
on `UnknownTerminal`. They are the terminal table's contract with its callers, not its machinery.
"""

from __future__ import annotations


class BackgroundTerminalError(Exception):
    """A terminal operation failed; the message is what the model is told."""


class UnknownTerminal(BackgroundTerminalError):
    def __init__(self, session_id: int) -> None:
        super().__init__(f"Unknown process id {session_id}")
        self.session_id = session_id


class StdinClosed(BackgroundTerminalError):
    def __init__(self) -> None:
        super().__init__(
            "stdin is closed for this session; rerun exec_command with tty=true to keep stdin open"
        )


class WriteToStdinFailed(BackgroundTerminalError):
    def __init__(self) -> None:
        super().__init__("failed to write to stdin")


class SpawnFailed(BackgroundTerminalError):
    def __init__(self, message: str) -> None:
        super().__init__(f"Failed to create unified exec process: {message}")
