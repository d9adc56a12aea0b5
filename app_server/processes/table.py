"""Which connection owns which running process, so that none outlives its connection or the
server.

Ids are the client's (`command/exec.processId`, `process/spawn.processHandle`), scoped to the
connection and to the method family (`Family`); an id may be reused once its process has ended.
When a connection closes, its processes are killed (whole process group, SIGKILL); when the
server stops, every process is, and their ends are awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal

from app_server.processes.running import RunningProcess

Family = Literal["command/exec", "process"]

MAX_PROCESSES_PER_CONNECTION = 256
"""Running processes one connection may hold: each costs a process (and pipes or a pty) on the
host until it ends."""


class DuplicateProcessId(Exception):
    """The connection already has a running process with this id."""


class TooManyProcesses(Exception):
    """The connection holds `MAX_PROCESSES_PER_CONNECTION` running processes."""


class ProcessTable:
    """Running standalone processes of every connection."""

    def __init__(self) -> None:
        self._owned: dict[int, dict[tuple[Family, str], RunningProcess]] = {}

    def add(self, connection_id: int, family: Family, key: str, process: RunningProcess) -> None:
        """Register `process` (raises `DuplicateProcessId`, `TooManyProcesses`)."""
        owned = self._owned.setdefault(connection_id, {})
        if (family, key) in owned:
            raise DuplicateProcessId(key)
        if len(owned) >= MAX_PROCESSES_PER_CONNECTION:
            raise TooManyProcesses(key)
        owned[(family, key)] = process

    def get(self, connection_id: int, family: Family, key: str) -> RunningProcess | None:
        """The running process with this id, None once it has ended or never existed."""
        process = self._owned.get(connection_id, {}).get((family, key))
        return None if process is None or process.finished else process

    def remove(self, connection_id: int, family: Family, key: str, process: RunningProcess) -> None:
        """Forget `process` (it ended); its id is free again."""
        owned = self._owned.get(connection_id)
        if owned is not None and owned.get((family, key)) is process:
            del owned[(family, key)]
            if not owned:
                del self._owned[connection_id]

    def connection_closed(self, connection_id: int) -> None:
        """Kill every process of the connection (their runners then report and clean up)."""
        for process in self._owned.pop(connection_id, {}).values():
            process.kill()

    async def close(self) -> None:
        """Kill every process and wait until each has ended (server shutdown)."""
        owned, self._owned = self._owned, {}
        processes = [p for table in owned.values() for p in table.values()]
        for process in processes:
            process.kill()
        for process in processes:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.wait(), 5.0)
