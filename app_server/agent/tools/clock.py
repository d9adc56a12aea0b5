"""The `clock` namespace: `sleep` (a `sleep` item, cut short by new input) and `curr_time`.

`sleep` lets the model wait for something (a build, a server) without burning sampling steps;
new user input steered into the turn ends the wait at once, so the model can read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import Any

from app_server.agent.tools import tool_items
from app_server.agent.tools.arguments import BadArguments, json_arguments, optional_int
from app_server.agent.tools.registry import ToolCall, ToolContext, ToolOutput
from app_server.rollout import core_items

MAX_SLEEP_MS = 43_200_000
"""The longest wait a model may ask for (12 hours, 0.169's bound); the turn and its thread stay
active meanwhile, which `turn/interrupt` or new input can always end."""

SLEEP_SPEC: dict[str, Any] = {
    "type": "function",
    "name": "sleep",
    "description": (
        "Wait for the given number of milliseconds, e.g. for a background process. The wait "
        "ends early when the user sends new input."
    ),
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "duration_ms": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_SLEEP_MS,
                "description": "How long to wait, in milliseconds.",
            }
        },
        "required": ["duration_ms"],
        "additionalProperties": False,
    },
}

CURR_TIME_SPEC: dict[str, Any] = {
    "type": "function",
    "name": "curr_time",
    "description": "Return the current date and time in UTC (ISO 8601).",
    "strict": False,
    "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
}


class SleepTool:
    """`clock.sleep`."""

    name = "sleep"
    namespace = "clock"
    offered = True

    def spec(self) -> dict[str, Any]:
        return SLEEP_SPEC

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput:
        try:
            duration_ms = optional_int(json_arguments(call), "duration_ms")
        except BadArguments as bad:
            return bad.output
        if duration_ms is None or not 1 <= duration_ms <= MAX_SLEEP_MS:
            return ToolOutput(f"duration_ms must be between 1 and {MAX_SLEEP_MS}", success=False)
        core = core_items.sleep(call.call_id, duration_ms)
        started = tool_items.publish_started(context, core)
        clock = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(context.input_arrived.wait(), duration_ms / 1000)
        elapsed = time.monotonic() - clock
        item = tool_items.publish_completed(context, core, started, None)
        outcome = (
            "Sleep interrupted by new input."
            if context.input_arrived.is_set()
            else "Sleep completed."
        )
        return ToolOutput(f"Wall time: {elapsed:.4f} seconds\n{outcome}", item=item)


class CurrTimeTool:
    """`clock.curr_time`."""

    name = "curr_time"
    namespace = "clock"
    offered = True

    def spec(self) -> dict[str, Any]:
        return CURR_TIME_SPEC

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput:
        return ToolOutput(datetime.now(UTC).isoformat(timespec="seconds"))
