"""`model/list`: the models clients may pick, from the configuration (PROTOCOL.md §7.17).

0.169 lists its built-in catalog whatever provider is configured; we list what the config says:
the default `model` first (the one `isDefault`), then any `[[models]]` entries (a string, or a
table with `id`, `display_name`, `description`, `hidden`, `reasoning_efforts`,
`default_reasoning_effort`).
"""

from __future__ import annotations

from app_server.api.list_page import list_page
from app_server.client_connection import ClientConnection
from app_server.config import ConfigToml, ServerConfig
from app_server.config.defaults import DEFAULT_MODEL
from app_server.config.keys import ModelEntryToml
from app_server.model_efforts import entry_efforts
from protocol.types import Model, ModelListParams, ModelListResponse, ReasoningEffortOption

DEFAULT_PAGE_SIZE = 100
"""Models per page when the client gives no limit (catalogs are small)."""


def _model(model_id: str, data: ModelEntryToml, *, is_default: bool) -> Model:
    efforts, default_effort = entry_efforts(data)
    return Model(
        id=model_id,
        model=model_id,
        display_name=data.display_name or model_id,
        description=data.description or "",
        hidden=data.hidden,
        is_default=is_default,
        default_reasoning_effort=default_effort,
        supported_reasoning_efforts=[
            ReasoningEffortOption(reasoning_effort=e, description=f"{e} reasoning effort")
            for e in efforts
        ],
    )


def catalog(config: ConfigToml) -> list[Model]:
    default = config.model or DEFAULT_MODEL
    models = [_model(default, ModelEntryToml.model_construct(), is_default=True)]
    for entry in config.models:
        data = ModelEntryToml.model_construct(id=entry) if isinstance(entry, str) else entry
        model_id = data.id or data.model
        if not model_id:
            continue  # a table that names no model
        if model_id == default:
            models[0] = _model(model_id, data, is_default=True)
        else:
            models.append(_model(model_id, data, is_default=False))
    return models


class ModelHandlers:
    """Handler of `model/list`."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config

    async def list(
        self, connection: ClientConnection, params: ModelListParams
    ) -> ModelListResponse:
        models = [m for m in catalog(self._config.toml) if params.include_hidden or not m.hidden]
        page, next_cursor = list_page(models, params.cursor, params.limit, DEFAULT_PAGE_SIZE)
        return ModelListResponse(data=page, next_cursor=next_cursor)
