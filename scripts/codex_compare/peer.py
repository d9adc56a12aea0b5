"""One app-server process (codex's or ours) over stdio, driven step by step, with everything it
sends recorded per step."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.codex_compare.steps import (
    Await,
    Call,
    Queue,
    Step,
    Turn,
    WaitFor,
    WriteFile,
    resolve,
)
from tests.support.model_server import ModelServer
from tests.support.turn_env import MODEL_ENV, write_model_config

# How long a step waits for one answer or notification before the scenario is abandoned: a
# longer wait only delays the report of a hang.
REPLY_TIMEOUT_S = 30.0
# Quiet time after a step before its notifications are considered complete; shorter risks
# attributing late notifications to the next step, longer slows every scenario.
SETTLE_S = 0.4
# Biggest line either server may send (whole threads with many items).
LINE_LIMIT = 2**26


@dataclass
class Observation:
    """What one step produced: the result (or error), notifications and server requests."""

    label: str
    result: Any = None
    error: Any = None
    notifications: list[tuple[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, Any]] = field(default_factory=list)


class Peer:
    """A server process plus the scenario's saved results."""

    def __init__(self, name: str, command: list[str], root: Path, model: ModelServer) -> None:
        self.name = name
        self.command = command
        self.root = root
        self.model = model
        self.cwd = root / "work"
        self.saved: dict[str, Any] = {}
        self.log: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()
        self.decision = "accept"
        self._next_id = 0
        self._unanswered: dict[str, int] = {}  # `Call(wait=False)` save name -> request id
        self._previous_step_at = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        home = self.root / "codex-home"
        for directory in (home, self.root / "home", self.cwd):
            directory.mkdir(parents=True)
        write_model_config(home, self.model.base_url)
        env = dict(os.environ, CODEX_HOME=str(home), HOME=str(self.root / "home"), RUST_LOG="error")
        env.update(MODEL_ENV)
        self._proc = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=(self.root / "stderr.log").open("w"),
            env=env,
            cwd=self.cwd,
            limit=LINE_LIMIT,
            start_new_session=True,  # `codex` is a node wrapper: stop() ends its whole group
        )
        self._reader = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            await self._proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            message = json.loads(line)
            self.log.append(message)
            if "method" in message and "id" not in message:  # `$@method.path` in later params
                self.saved["@" + message["method"]] = message.get("params")
            self.arrived.set()
            if "method" in message and "id" in message:
                await self._send({"id": message["id"], "result": {"decision": self.decision}})

    async def _send(self, message: dict[str, Any]) -> None:
        assert self._proc is not None
        assert self._proc.stdin is not None
        self._proc.stdin.write((json.dumps(message) + "\n").encode())
        await self._proc.stdin.drain()

    async def notify(self, method: str) -> None:
        await self._send({"method": method})

    async def request(self, method: str, params: Any) -> dict[str, Any]:
        """Send one request and wait for its answer (the whole response message)."""
        return await self.answer(await self.send_request(method, params))

    async def send_request(self, method: str, params: Any) -> int:
        """Send one request; its id."""
        self._next_id += 1
        await self._send({"id": self._next_id, "method": method, "params": params})
        return self._next_id

    async def answer(self, request_id: int) -> dict[str, Any]:
        """The answer to request `request_id` (the whole response message), once it came."""
        seen = 0
        while True:
            for message in self.log[seen:]:
                if message.get("id") == request_id and "method" not in message:
                    return message
            seen = len(self.log)
            await self._wait_arrival()

    async def wait_for(self, method: str, since: int) -> None:
        while not any(m.get("method") == method for m in self.log[since:]):
            await self._wait_arrival()

    async def _wait_arrival(self) -> None:
        self.arrived.clear()
        await asyncio.wait_for(self.arrived.wait(), REPLY_TIMEOUT_S)

    async def settle(self) -> None:
        while True:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), SETTLE_S)
            except TimeoutError:
                return

    async def run(self, step: Step) -> Observation:
        """Run one step; the observation holds everything sent while it ran and settled."""
        since = len(self.log)
        previous, self._previous_step_at = self._previous_step_at, since
        observation = Observation(label=_label(step))
        response: dict[str, Any] | None = None
        if isinstance(step, Call):
            try:
                params = resolve(step.params, self.saved, str(self.cwd))
            except KeyError as missing:  # the step that saves it failed on this side
                observation.error = {"code": None, "message": f"skipped: ${missing} not saved"}
                return observation
            if step.wait:
                response = await self.request(step.method, params)
            else:
                self._unanswered[step.save or step.method] = await self.send_request(
                    step.method, params
                )
        elif isinstance(step, Await):
            response = await self.answer(self._unanswered.pop(step.name))
        elif isinstance(step, Turn):
            self.model.enqueue(*step.replies)
            self.decision = step.decision
            params = {
                "threadId": resolve(step.thread, self.saved, str(self.cwd)),
                "input": [{"type": "text", "text": step.text, "text_elements": []}],
                **resolve(dict(step.params), self.saved, str(self.cwd)),
            }
            response = await self.request("turn/start", params)
            if step.wait and "result" in response:
                await self.wait_for("turn/completed", since)
        elif isinstance(step, WaitFor):
            await self.wait_for(step.method, since=previous)
        elif isinstance(step, Queue):
            self.model.enqueue(*step.replies)
        elif isinstance(step, WriteFile):
            target = self.root / "codex-home" / step.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step.text)
        await self.settle()
        if response is not None:
            observation.result = response.get("result")
            observation.error = response.get("error")
            save = step.save if isinstance(step, Call | Turn) else None
            if isinstance(step, Await):
                save = step.name
            if save is not None and observation.result is not None:
                self.saved[save] = observation.result
        for message in self.log[since:]:
            if "method" not in message:
                continue
            entry = (message["method"], message.get("params"))
            (observation.requests if "id" in message else observation.notifications).append(entry)
        return observation


def _label(step: Step) -> str:
    if isinstance(step, Call):
        return step.method if step.wait else f"{step.method} (answer awaited later)"
    if isinstance(step, Turn):
        return f"turn/start ({step.text!r}, decision {step.decision})"
    if isinstance(step, WaitFor):
        return f"wait for {step.method}"
    if isinstance(step, WriteFile):
        return f"write {step.path}"
    if isinstance(step, Await):
        return f"answer of {step.name}"
    return f"queue {len(step.replies)} model replies"
