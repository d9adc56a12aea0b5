"""Point a server process at the fake model (`model_server.ModelServer`) for turn tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.client import RpcClient

MODEL = "gpt-test"
PROVIDER = "mock"
API_KEY_ENV = "MOCK_API_KEY"
MODEL_ENV = {API_KEY_ENV: "test-key"}


def write_model_config(
    data_dir: Path,
    base_url: str,
    *,
    request_retries: int = 1,
    stream_retries: int = 1,
    wire_api: str = "responses",
    extra: str = "",
) -> None:
    """A `config.toml` that sends every turn to the fake model."""
    (data_dir / "config.toml").write_text(
        f'model = "{MODEL}"\n'
        f'model_provider = "{PROVIDER}"\n'
        f"{extra}\n"
        f"[model_providers.{PROVIDER}]\n"
        f'name = "{PROVIDER}"\n'
        f'base_url = "{base_url}"\n'
        f'wire_api = "{wire_api}"\n'
        f'env_key = "{API_KEY_ENV}"\n'
        f"request_max_retries = {request_retries}\n"
        f"stream_max_retries = {stream_retries}\n"
        "stream_idle_timeout_ms = 10000\n"
    )


def text_input(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text, "text_elements": []}]


async def run_turn(
    client: RpcClient, thread_id: str, text: str, **overrides: Any
) -> dict[str, Any]:
    """Start a turn and wait for its `turn/completed`; returns that notification's turn."""
    result = await client.call(
        "turn/start", {"threadId": thread_id, "input": text_input(text), **overrides}
    )
    turn_id = result["turn"]["id"]
    completed = await client.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id, timeout=30
    )
    turn: dict[str, Any] = completed["params"]["turn"]
    return turn
