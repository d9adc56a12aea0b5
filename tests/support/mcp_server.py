"""A small real MCP server for tests, written with the official `mcp` SDK (`MCPServer`).

Run it over stdio (`python -m tests.support.mcp_server`) or over streamable HTTP on 127.0.0.1
(`python -m tests.support.mcp_server --http PORT`; the endpoint is `/mcp`). Its tools cover
what the app-server must carry: a text result, a structured result, an image, a slow call, a
tool that raises, one that reports progress, one that asks the client (elicitation), and a
resource. `--exit-after-calls N` makes the process exit after N tool calls, to test a server that
crashes mid-session. `MCP_TEST_PID_FILE` (when set) gets the server's pid, so tests can check it
is gone after shutdown.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.utilities.types import Image
from mcp.types import ToolAnnotations
from pydantic import BaseModel

PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
"""A 1x1 PNG, the image the `pixel` tool returns."""

server = MCPServer("test-mcp", version="1.0.0")
_calls = 0
_exit_after: int | None = None


def _count_call() -> None:
    """Exit the process (a crash, as the client sees it) once `--exit-after-calls` is reached."""
    global _calls
    _calls += 1
    if _exit_after is not None and _calls > _exit_after:
        os._exit(3)


class Weather(BaseModel):
    city: str
    temperature: float


class Confirm(BaseModel):
    confirmed: bool


@server.tool(description="Echo the text back.", annotations=ToolAnnotations(read_only_hint=True))
def echo(text: str) -> str:
    _count_call()
    return f"echo: {text}"


@server.tool(description="The weather in a city, as structured content.")
def weather(city: str) -> Weather:
    _count_call()
    return Weather(city=city, temperature=21.5)


@server.tool(description="A 1x1 PNG image.", annotations=ToolAnnotations(read_only_hint=True))
def pixel() -> Image:
    _count_call()
    return Image(data=PIXEL_PNG, format="png")


@server.tool(description="Sleep for the given seconds, then answer.")
async def slow(seconds: float) -> str:
    _count_call()
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool(description="Always fails.")
def boom() -> str:
    _count_call()
    raise ValueError("boom went the tool")


@server.tool(description="Report progress in steps, then answer.")
async def count(steps: int, ctx: Context) -> str:
    _count_call()
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps, f"step {step}")
        await asyncio.sleep(0.01)
    return f"counted {steps}"


@server.tool(description="Ask the user to confirm, then say what they answered.")
async def confirm(question: str, ctx: Context) -> str:
    _count_call()
    answer = await ctx.elicit(question, Confirm)
    if answer.action == "accept" and answer.data is not None:
        return f"confirmed={answer.data.confirmed}"
    return f"action={answer.action}"


@server.resource("test://greeting", name="greeting", description="A greeting.")
def greeting() -> str:
    return "hello from the resource"


@server.resource("test://items/{item}", name="item", description="One item by name.")
def item(item: str) -> str:
    return f"item {item}"


def main() -> None:
    global _exit_after
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, default=None, help="serve streamable HTTP on PORT")
    parser.add_argument("--exit-after-calls", type=int, default=None)
    parser.add_argument("--startup-delay", type=float, default=0.0)
    args = parser.parse_args()
    _exit_after = args.exit_after_calls
    pid_file = os.environ.get("MCP_TEST_PID_FILE")
    if pid_file:
        with open(pid_file, "a") as out:
            out.write(f"{os.getpid()}\n")
    if args.startup_delay:
        import time

        time.sleep(args.startup_delay)
    if args.http is not None:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        server.run()
    sys.exit(0)


if __name__ == "__main__":
    main()
