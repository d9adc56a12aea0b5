"""Wire user input → what the model is sent: Responses API `input_*` content parts.

The model is sent Responses API items (`{"type": "message", "role": "user", "content":
[{"type": "input_text", …}]}`); a client's `UserInput`s become their content parts here. Local
images are inlined as data URLs, so what the model sees does not depend on the files later.
(The rollout's spelling of the same input is `app_server.rollout.core_items`.)
"""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import Any

from protocol.types import (
    ImageUserInput,
    LocalImageUserInput,
    MentionUserInput,
    TextUserInput,
    UserInput,
)

MAX_LOCAL_IMAGE_BYTES = 20 * 1024 * 1024
"""A `localImage` larger than this is not inlined (the model gets a note instead): a data URL
costs 4/3 of the file in every request of the thread."""


def _data_url(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_LOCAL_IMAGE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def model_input_content(value: UserInput, cwd: str) -> list[dict[str, Any]]:
    """A wire `UserInput` as Responses `input_*` content parts (images are inlined).

    Blocking for `localImage` (reads the file): call it from a worker thread.
    """
    if isinstance(value, TextUserInput):
        return [{"type": "input_text", "text": value.text}]
    if isinstance(value, ImageUserInput):
        part: dict[str, Any] = {"type": "input_image"}
        if value.url is not None:
            part["image_url"] = value.url
        if value.file_id is not None:
            part["file_id"] = value.file_id
        if value.detail is not None:
            part["detail"] = value.detail
        return [part]
    if isinstance(value, LocalImageUserInput):
        path = Path(cwd, value.path)
        url = _data_url(path)
        if url is None:
            return [{"type": "input_text", "text": f"[image {value.path} could not be attached]"}]
        return [{"type": "input_image", "image_url": url}]
    if isinstance(value, MentionUserInput):
        return [{"type": "input_text", "text": f"[{value.name}]({value.path})"}]
    # A skill item adds nothing here: its SKILL.md follows as a message of its own
    # (`app_server.skill_mentions`), as codex 0.169 does.
    return []
