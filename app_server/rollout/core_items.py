"""Wire items → what a turn persists and sends: core TurnItems and Responses input items.

Two spellings of the same conversation exist besides the wire one. Rollouts store each finished
item as a codex *core* TurnItem (`event_msg item_completed`, PascalCase `type`, snake_case
fields; STORAGE.md §3.4), which `rollout/item_mapping.py` reads back; and the model is sent
Responses API items (`{"type": "message", "role": "user", "content": [{"type": "input_text",
…}]}`). These functions are the writing direction of those mappings; a round-trip test keeps the
two sides in step.
"""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import Any

from protocol.types import (
    AgentMessageThreadItem,
    AudioUserInput,
    ImageUserInput,
    LocalAudioUserInput,
    LocalImageUserInput,
    MentionUserInput,
    ReasoningThreadItem,
    SkillUserInput,
    TextUserInput,
    UserInput,
    UserMessageThreadItem,
)

MAX_LOCAL_IMAGE_BYTES = 20 * 1024 * 1024
"""A `localImage` larger than this is not inlined (the model gets a note instead): a data URL
costs 4/3 of the file in every request of the thread."""


def core_user_input(value: UserInput) -> dict[str, Any] | None:
    """One wire `UserInput` in its core (rollout) spelling."""
    if isinstance(value, TextUserInput):
        elements = [e.model_dump(mode="json", by_alias=True) for e in value.text_elements]
        return {"type": "text", "text": value.text, "text_elements": elements}
    if isinstance(value, ImageUserInput):
        image: dict[str, Any] = {"type": "image"}
        if value.url is not None:
            image["image_url"] = value.url
        if value.file_id is not None:
            image["file_id"] = value.file_id
        return image
    if isinstance(value, LocalImageUserInput):
        return {"type": "local_image", "path": value.path}
    if isinstance(value, SkillUserInput):
        return {"type": "skill", "name": value.name, "path": value.path}
    if isinstance(value, MentionUserInput):
        return {"type": "mention", "name": value.name, "path": value.path}
    if isinstance(value, AudioUserInput | LocalAudioUserInput):
        return None  # not sent to the model by this server (no audio support)
    return None


def core_user_message(item: UserMessageThreadItem) -> dict[str, Any]:
    content = [c for c in (core_user_input(v) for v in item.content) if c is not None]
    core: dict[str, Any] = {"type": "UserMessage", "id": item.id, "content": content}
    if item.client_id is not None:
        core["client_id"] = item.client_id
    return core


def core_agent_message(item: AgentMessageThreadItem) -> dict[str, Any]:
    core: dict[str, Any] = {
        "type": "AgentMessage",
        "id": item.id,
        "content": [{"type": "Text", "text": item.text}],
    }
    if item.phase is not None:
        core["phase"] = item.phase
    return core


def core_reasoning(item: ReasoningThreadItem) -> dict[str, Any]:
    return {
        "type": "Reasoning",
        "id": item.id,
        "summary_text": list(item.summary),
        "raw_content": list(item.content),
    }


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
    if isinstance(value, SkillUserInput | MentionUserInput):
        return [{"type": "input_text", "text": f"[{value.name}]({value.path})"}]
    return []


def user_message_text(inputs: list[UserInput]) -> str:
    """The plain text of a user message (legacy `user_message.message`, `last_agent_message`)."""
    return "\n".join(v.text for v in inputs if isinstance(v, TextUserInput))
