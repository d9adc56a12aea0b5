"""Reading a function call's JSON arguments, with the error text codex gives the model."""

from __future__ import annotations

from typing import Any

import orjson

from app_server.agent.tools.registry import ToolCall, ToolOutput


class BadArguments(Exception):
    """The call's arguments are unusable; `output` is what the model is told."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.output = ToolOutput(f"failed to parse function arguments: {message}", success=False)


def json_arguments(call: ToolCall) -> dict[str, Any]:
    """The arguments object of a function call (`BadArguments` if it is not one)."""
    try:
        value = orjson.loads(call.arguments or "{}")
    except orjson.JSONDecodeError as exc:
        raise BadArguments(str(exc)) from None
    if not isinstance(value, dict):
        raise BadArguments("expected a JSON object")
    return value


def required_str(arguments: dict[str, Any], key: str) -> str:
    value = arguments.get(key)
    if not isinstance(value, str):
        raise BadArguments(f"missing field `{key}`")
    return value


def optional_int(arguments: dict[str, Any], key: str) -> int | None:
    value = arguments.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadArguments(f"invalid type for `{key}`: expected an integer")
    return int(value)
