"""Helpers for sub-agent tests: a v2 server, routing model requests by agent, and reading
what parents and children were sent."""

from __future__ import annotations

from typing import Any

from tests.conftest import Servers
from tests.support.client import StdioClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer, RecordedRequest
from tests.support.tool_env import tool_client

V2_CONFIG = "[features]\nmulti_agent_v2 = true\n[agents]\nmin_wait_timeout_ms = 200\n"
"""Multi-agent v2, with short `wait_agent` floors so timeout tests stay quick."""

ROOT = "root"


def v2_config(**agents: int) -> str:
    lines = [f"{key} = {value}" for key, value in agents.items()]
    return V2_CONFIG + "\n".join(lines) + "\n"


def _text(item: dict[str, Any]) -> str:
    return "".join(part.get("text", "") for part in item.get("content") or [])


def agent_of(body: Any) -> str:
    """Which agent sent a model request: the recipient of the last `NEW_TASK` in its input (a
    task is the first thing a sub-agent reads), else the root."""
    for item in reversed((body or {}).get("input") or []):
        if item.get("type") == "agent_message" and _text(item).startswith("Message Type: NEW_TASK"):
            return str(item.get("recipient"))
    return ROOT


async def v2_client(servers: Servers, model: ModelServer, **agents: int) -> StdioClient:
    """A client of a fresh server whose new threads get the `collaboration` tools; model
    requests are routed by agent path (`enqueue_for("/root/x", …)`, the root's via `enqueue`)."""
    model.router = agent_of
    return await tool_client(servers, model, experimental=True, extra_config=v2_config(**agents))


def spawn(task_name: str, message: str, call_id: str, **more: Any) -> Reply:
    arguments = {"task_name": task_name, "message": message, **more}
    return Reply.function_call("spawn_agent", arguments, call_id=call_id, namespace="collaboration")


def collab(name: str, arguments: dict[str, Any], call_id: str) -> Reply:
    return Reply.function_call(name, arguments, call_id=call_id, namespace="collaboration")


def requests_of(model: ModelServer, agent: str) -> list[RecordedRequest]:
    return [r for r in model.requests if r.body and agent_of(r.body) == agent]


def agent_messages(request: RecordedRequest) -> list[str]:
    """The texts of the inter-agent messages a request carries, in order."""
    return [_text(i) for i in request.body["input"] if i.get("type") == "agent_message"]


def items_of(client: StdioClient, method: str, kind: str, thread_id: str) -> list[dict[str, Any]]:
    return [
        m["params"]["item"]
        for m in client.notifications_named(method)
        if m["params"]["item"]["type"] == kind and m["params"]["threadId"] == thread_id
    ]


async def wait_for_agent_requests(model: ModelServer, *agents: str, timeout: float = 10.0) -> None:
    """Wait until each agent sent the model at least one request."""
    await model.wait_until(
        lambda: all(requests_of(model, agent) for agent in agents), timeout, f"requests of {agents}"
    )
