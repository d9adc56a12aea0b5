"""`model/list`: the models clients may pick, from the configuration (PROTOCOL.md §7.17).

0.169 lists its built-in catalog whatever provider is configured; we list what the config says:
the default `model` first (the one `isDefault`), then any `[[models]]` entries (a string, or a
table with `id`, `display_name`, `description`, `hidden`, `reasoning_efforts`,
`default_reasoning_effort`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app_server.config import ServerConfig
from app_server.errors import InvalidRequest
from app_server.session import ClientSession
from app_server.settings import DEFAULT_MODEL
from protocol.types import Model, ModelListParams, ModelListResponse, ReasoningEffortOption

DEFAULT_EFFORTS = ("low", "medium", "high")
DEFAULT_PAGE_SIZE = 100
"""Models per page when the client gives no limit (catalogs are small)."""


def _model(entry: Mapping[str, Any] | str, *, is_default: bool) -> Model:
    data: Mapping[str, Any] = {"id": entry} if isinstance(entry, str) else entry
    model_id = str(data.get("id") or data.get("model"))
    efforts = [str(e) for e in data.get("reasoning_efforts") or DEFAULT_EFFORTS]
    default_effort = str(
        data.get("default_reasoning_effort") or ("medium" if "medium" in efforts else efforts[0])
    )
    return Model(
        id=model_id,
        model=model_id,
        display_name=str(data.get("display_name") or model_id),
        description=str(data.get("description") or ""),
        hidden=bool(data.get("hidden", False)),
        is_default=is_default,
        default_reasoning_effort=default_effort,
        supported_reasoning_efforts=[
            ReasoningEffortOption(reasoning_effort=e, description=f"{e} reasoning effort")
            for e in efforts
        ],
    )


def catalog(config: ServerConfig) -> list[Model]:
    default = str(config.get("model") or DEFAULT_MODEL)
    entries = config.get("models") or []
    models = [_model(default, is_default=True)]
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, str | Mapping):
            model = _model(entry, is_default=False)
            if model.id != default:
                models.append(model)
            else:
                models[0] = _model(entry, is_default=True)
    return models


def _cursor_position(cursor: str, count: int) -> int:
    """The list position a cursor names (our cursors are positions in ASCII digits). Checked as
    text first: `"²".isdigit()` holds but `int("²")` raises, and `int()` of a million digits
    is refused too."""
    digits = cursor.lstrip("0") or "0"
    if not (cursor.isascii() and cursor.isdigit()) or len(digits) > len(str(count)):
        raise InvalidRequest(f"invalid cursor: {cursor}")
    position = int(digits)
    if position > count:
        raise InvalidRequest(f"invalid cursor: {cursor}")
    return position


class ModelHandlers:
    """Handler of `model/list`."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config

    async def list(self, session: ClientSession, params: ModelListParams) -> ModelListResponse:
        models = [m for m in catalog(self._config) if params.include_hidden or not m.hidden]
        start = 0 if params.cursor is None else _cursor_position(params.cursor, len(models))
        limit = params.limit or DEFAULT_PAGE_SIZE
        page = models[start : start + limit]
        end = start + len(page)
        return ModelListResponse(data=page, next_cursor=str(end) if end < len(models) else None)
