"""How MCP tools are offered to the model and how their results go back (codex 0.169, observed).

Each server is one Responses `namespace` tool named `mcp__<server>` ("Tools in the mcp__<server>
namespace.") whose functions are the server's tools sorted by name, `strict: false`, with the
input schema minus its `title` keys. The model calls `function_call` with that namespace. The
output is `"Wall time: S seconds\\nOutput:\\n<structuredContent as compact JSON>"` (one string)
when the result is structured and not an error, else a list of content items: the same header
as `input_text`, then each content part (`text` → `input_text`, `image` → `input_image` with a
data URL at `detail: "high"`). Failures (timeout, refusal) are the header and the error text.

Pure functions only: the SDK's values arrive as plain dicts (`model_dump(by_alias=True)`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from app_server.rollout.items import McpResultValue
from app_server.rollout.lines import JsonObject

MAX_OUTPUT_TEXT_CHARS = 1_000_000
"""A tool's text parts are cut to this many characters before they join history: one call's
output stays in every later request of the thread (and in the rollout), so an unbounded result
would cost tokens on every step. A result past it ends with a `[truncated]` marker."""

TRUNCATED_MARKER = "\n…[truncated]"


def _without_titles(schema: Any, *, in_properties: bool = False) -> Any:
    """A JSON schema with its `title` keywords removed (property *names* stay, even `title`)."""
    if isinstance(schema, list):
        return [_without_titles(value) for value in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    if not in_properties and "type" in schema:
        out["type"] = schema["type"]
    for key, value in schema.items():
        if in_properties:
            out[key] = _without_titles(value)
        elif key == "title" or key == "type":
            continue
        else:
            out[key] = _without_titles(value, in_properties=key in ("properties", "$defs"))
    return out


def call_arguments(arguments: str) -> Any:
    """A call's JSON arguments (`{}` when empty); None when they are not JSON."""
    try:
        return json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:
        return None


def input_parameters(input_schema: Any) -> dict[str, Any]:
    """A tool's `parameters`: its input schema without titles (an object schema at least)."""
    cleaned = _without_titles(input_schema if isinstance(input_schema, dict) else {})
    if "type" not in cleaned:
        cleaned = {"type": "object", **cleaned}
    if cleaned.get("type") == "object" and "properties" not in cleaned:
        cleaned["properties"] = {}
    return dict(cleaned)


def function_spec(tool: dict[str, Any]) -> dict[str, Any]:
    """One MCP tool (`{name, description, inputSchema, …}`) as a function of its namespace."""
    return {
        "type": "function",
        "name": tool["name"],
        "description": tool.get("description") or "",
        "strict": False,
        "parameters": input_parameters(tool.get("inputSchema")),
    }


def namespace_description(namespace: str) -> str:
    return f"Tools in the {namespace} namespace."


def wall_time_header(seconds: float) -> str:
    return f"Wall time: {seconds:.4f} seconds\nOutput:"


def _cut(text: str) -> str:
    if len(text) <= MAX_OUTPUT_TEXT_CHARS:
        return text
    return text[:MAX_OUTPUT_TEXT_CHARS] + TRUNCATED_MARKER


def _content_item(part: Mapping[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text":
        return {"type": "input_text", "text": _cut(str(part.get("text", "")))}
    if kind == "image":
        url = f"data:{part.get('mimeType', 'image/png')};base64,{part.get('data', '')}"
        return {"type": "input_image", "image_url": url, "detail": "high"}
    return {"type": "input_text", "text": _cut(json.dumps(part, separators=(",", ":")))}


def result_output(result: McpResultValue, seconds: float) -> str | list[dict[str, Any]]:
    """What the model reads for a call the server answered (see the module docstring)."""
    structured = result.get("structuredContent")
    if structured is not None and not result["isError"]:
        body = json.dumps(structured, separators=(",", ":"), ensure_ascii=False)
        return f"{wall_time_header(seconds)}\n{_cut(body)}"
    header = {"type": "input_text", "text": wall_time_header(seconds)}
    return [header, *(_content_item(part) for part in result["content"])]


def error_output(message: str, seconds: float) -> list[dict[str, Any]]:
    """What the model reads for a call that failed before or instead of a result."""
    return [
        {"type": "input_text", "text": wall_time_header(seconds)},
        {"type": "input_text", "text": message},
    ]


def result_value(dumped: dict[str, Any]) -> McpResultValue:
    """An SDK `CallToolResult` (dumped by alias) as codex records it."""
    content: list[JsonObject] = [dict(part) for part in dumped.get("content") or []]
    is_error = bool(dumped.get("isError"))
    if dumped.get("structuredContent") is None:
        return {"content": content, "isError": is_error}
    structured = dumped["structuredContent"]
    return {"content": content, "structuredContent": structured, "isError": is_error}
