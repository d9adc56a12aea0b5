"""`view_image`: the model looks at an image file from the workspace (an `imageView` item).

The image goes back to the model as the call's output — an `input_image` content item carrying a
data URL — so it is part of history and a resumed thread sends it again. Reading is allowed under
every sandbox policy (the sandbox restricts writes and network, not reads).
"""

from __future__ import annotations

import asyncio
import base64
import mimetypes
import os
from pathlib import Path
from typing import Any

from app_server.agent.model_input import MAX_LOCAL_IMAGE_BYTES
from app_server.agent.tools import tool_items
from app_server.agent.tools.arguments import BadArguments, json_arguments, required_str
from app_server.agent.tools.registry import ToolCall, ToolContext, ToolOutput
from app_server.rollout import core_items

SPEC: dict[str, Any] = {
    "type": "function",
    "name": "view_image",
    "description": (
        "Show an image file from the local filesystem to the model (PNG, JPEG, GIF or WebP), "
        "for example a screenshot or a rendered chart. The path is absolute or relative to the "
        "working directory."
    ),
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {"path": {"type": "string", "description": "Path to the image file."}},
        "required": ["path"],
        "additionalProperties": False,
    },
}

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def _data_url(path: Path) -> str:
    """The file as a data URL; `ValueError` with the model's message when it cannot be shown."""
    try:
        size = path.stat().st_size
        mime = mimetypes.guess_type(path.name)[0]
        if mime not in IMAGE_TYPES:
            raise ValueError(f"`{path}` is not a PNG, JPEG, GIF or WebP image")
        if size > MAX_LOCAL_IMAGE_BYTES:
            raise ValueError(f"image at `{path}` is larger than {MAX_LOCAL_IMAGE_BYTES} bytes")
        data = path.read_bytes()
    except OSError as exc:
        reason = f"{exc.strerror} (os error {exc.errno})" if exc.strerror else str(exc)
        raise ValueError(f"unable to locate image at `{path}`: {reason}") from None
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


class ViewImageTool:
    """Attaches a workspace image to the conversation."""

    name = "view_image"
    namespace = None
    offered = True

    def spec(self) -> dict[str, Any]:
        return SPEC

    async def run(self, call: ToolCall, context: ToolContext) -> ToolOutput:
        try:
            raw = required_str(json_arguments(call), "path")
        except BadArguments as bad:
            return bad.output
        path = Path(os.path.join(context.cwd, raw))
        try:
            url = await asyncio.to_thread(_data_url, path)
        except ValueError as exc:
            return ToolOutput(str(exc), success=False)
        core = core_items.image_view(call.call_id, str(path))
        started = tool_items.publish_started(context, core)
        legacy = core_items.legacy_view_image(call.call_id, str(path))
        item = tool_items.publish_completed(context, core, started, legacy)
        return ToolOutput([{"type": "input_image", "image_url": url, "detail": "high"}], item=item)
