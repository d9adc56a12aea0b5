"""`update_plan`: the model keeps a step list; clients see it as `turn/plan/updated`."""

from __future__ import annotations

from typing import Any

from app_server.agent.tools.arguments import BadArguments, json_arguments
from app_server.agent.tools.registry import ToolCall, ToolContext, ToolOutput
from protocol import types as wire

_STATUS = {"pending": "pending", "in_progress": "inProgress", "completed": "completed"}

SPEC: dict[str, Any] = {
    "type": "function",
    "name": "update_plan",
    "description": (
        "Updates the task plan. Provide an optional explanation and a list of plan items, each "
        "with a step and a status (pending, in_progress or completed). At most one step can be "
        "in_progress at a time."
    ),
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "explanation": {"type": "string"},
            "plan": {
                "type": "array",
                "description": "The list of steps",
                "items": {
                    "type": "object",
                    "properties": {
                        "step": {"type": "string"},
                        "status": {
                            "type": "string",
                            "enum": ["pending", "in_progress", "completed"],
                        },
                    },
                    "required": ["step", "status"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["plan"],
        "additionalProperties": False,
    },
}


class UpdatePlanTool:
    """Publishes the plan; the model only needs to hear that it was recorded."""

    name = "update_plan"
    namespace = None
    offered = True

    def spec(self) -> dict[str, Any]:
        return SPEC

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput:
        try:
            arguments = json_arguments(call)
            steps = [
                wire.TurnPlanStep(step=str(entry["step"]), status=_STATUS[entry["status"]])  # type: ignore[arg-type]
                for entry in arguments["plan"]
            ]
        except BadArguments as bad:
            return bad.output
        except (KeyError, TypeError) as exc:
            return BadArguments(str(exc)).output
        explanation = arguments.get("explanation")
        context.publish(
            wire.TurnPlanUpdatedNotification(
                thread_id=context.thread_id,
                turn_id=context.turn_id,
                explanation=explanation if isinstance(explanation, str) else None,
                plan=steps,
            ),
        )
        return ToolOutput("Plan updated")
