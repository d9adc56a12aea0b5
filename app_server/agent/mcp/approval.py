"""Codex's approval rules for MCP tool calls, and the elicitation request that asks a client.

Observed with 0.169: a tool annotated `readOnlyHint: true` runs without asking. Any other tool
asks the client with `mcpServer/elicitation/request` (`mode: "form"`, `_meta.codex_approval_kind:
"mcp_tool_call"`, `persist: ["session", "always"]`, the tool's name, description and params)
unless the approval policy is `never`: then it runs under `danger-full-access` and fails
otherwise ("MCP tool call requires approval, but approval policy is never"). An answer other
than `accept` fails the item with "user rejected MCP tool call". An `accept` whose `_meta.persist`
is `session` or `always` is remembered for the thread's life (`always` is not written to
`config.toml`: README's compatibility table).

A server's own `elicitation/create` is forwarded to the client with the same method (its
message and requested schema) and the answer goes back to the server.
"""

from __future__ import annotations

from typing import Any, Literal

from msgspec import Struct, field
from pydantic import Field

from app_server.client_connection import ServerRequestOutcome
from protocol.wire_model import WireModel

ELICITATION_METHOD = "mcpServer/elicitation/request"
NEVER_MESSAGE = "MCP tool call requires approval, but approval policy is never"
REJECTED_MESSAGE = "user rejected MCP tool call"
PERSIST_CHOICES = ("session", "always")

Rule = Literal["run", "ask", "refuse"]


class McpElicitationRequest(WireModel):
    """`mcpServer/elicitation/request` params (form mode), in 0.169's field order."""

    thread_id: str
    turn_id: str | None = None
    server_name: str
    mode: Literal["form"] = "form"
    meta: dict[str, Any] | None = Field(default=None, alias="_meta")
    message: str
    requested_schema: dict[str, Any]


class McpApprovalMemory(Struct):
    """Tools a client approved for the rest of the thread (`persist: session|always`)."""

    approved: set[tuple[str, str]] = field(default_factory=set)


def approval_rule(read_only: bool, approval_policy: str, full_access: bool) -> Rule:
    """Whether a call runs, asks the client first, or fails (see the module docstring);
    `approval_policy` is "" for a granular policy (which asks)."""
    if read_only:
        return "run"
    if approval_policy == "never":
        return "run" if full_access else "refuse"
    return "ask"


def approval_request(
    thread_id: str,
    turn_id: str,
    server: str,
    tool: dict[str, Any],
    arguments: Any,
) -> McpElicitationRequest:
    """The question a client is asked before a tool runs."""
    params = arguments if isinstance(arguments, dict) else {}
    meta = {
        "codex_approval_kind": "mcp_tool_call",
        "persist": list(PERSIST_CHOICES),
        "tool_name": tool["name"],
        "tool_description": tool.get("description"),
        "tool_params": arguments,
        "tool_params_display": [
            {"name": name, "value": value, "display_name": name} for name, value in params.items()
        ],
    }
    return McpElicitationRequest(
        thread_id=thread_id,
        turn_id=turn_id,
        server_name=server,
        meta=meta,
        message=f'Allow the {server} MCP server to run tool "{tool["name"]}"?',
        requested_schema={"type": "object", "properties": {}},
    )


FORM_SCHEMA_KEYS = ("$schema", "type", "properties", "required")
"""What a form's `requestedSchema` may hold on the wire (the MCP form schema; `title` is not)."""
FIELD_SCHEMA_KEYS = frozenset(
    {
        "type",
        "title",
        "description",
        "default",
        "enum",
        "enumNames",
        "oneOf",
        "anyOf",
        "items",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "format",
    }
)


def form_schema(schema: Any) -> dict[str, Any]:
    """A server's requested schema reduced to what the protocol's form schema allows."""
    if not isinstance(schema, dict):
        return {"type": "object", "properties": {}}
    out = {key: schema[key] for key in FORM_SCHEMA_KEYS if key in schema}
    out["type"] = "object"
    properties = schema.get("properties")
    out["properties"] = {
        name: {k: v for k, v in field.items() if k in FIELD_SCHEMA_KEYS}
        for name, field in (properties.items() if isinstance(properties, dict) else ())
        if isinstance(field, dict)
    }
    return out


def server_elicitation(
    thread_id: str, turn_id: str, server: str, params: dict[str, Any]
) -> McpElicitationRequest:
    """A server's own form elicitation, forwarded to the client."""
    return McpElicitationRequest(
        thread_id=thread_id,
        turn_id=turn_id,
        server_name=server,
        meta=params.get("_meta"),
        message=str(params.get("message", "")),
        requested_schema=form_schema(params.get("requestedSchema")),
    )


class ElicitAnswer(Struct, frozen=True):
    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None
    persist: str | None = None


def read_elicit_answer(outcome: ServerRequestOutcome) -> ElicitAnswer:
    """A client's answer; no answer or an error counts as `cancel`."""
    result = outcome.result
    if not outcome.answered or outcome.failed or not isinstance(result, dict):
        return ElicitAnswer("cancel")
    action = result.get("action")
    if action not in ("accept", "decline", "cancel"):
        return ElicitAnswer("cancel")
    content = result.get("content")
    meta = result.get("_meta")
    persist = meta.get("persist") if isinstance(meta, dict) else None
    return ElicitAnswer(
        action,
        content if isinstance(content, dict) else None,
        persist if persist in PERSIST_CHOICES else None,
    )
