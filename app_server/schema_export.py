"""`app-server generate-json-schema --out DIR`: the JSON Schema of what this server speaks.

Generated from the pydantic models in `protocol/`, in the upstream bundle's layout (draft-07,
`definitions`), so clients and tests can diff it against codex's own schema:

    ClientRequest.json  ClientNotification.json  ServerNotification.json  ServerRequest.json
    JSONRPC{Request,Notification,Response,Error}.json
    v1/Initialize{Params,Response}.json  v2/<Type>.json  app_server_protocol.schemas.json

Schemas describe the validation shape (what we accept), which is the same JSON as what we emit.
The output is deterministic (sorted keys), so the committed `schema/` can be checked for staleness.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from protocol.jsonrpc import (
    JsonRpcError,
    JsonRpcNotification,
    JsonRpcRequest,
    JsonRpcResponse,
)
from protocol.methods import CLIENT_REQUESTS, SERVER_NOTIFICATIONS, SERVER_REQUESTS
from protocol.types import RequestId

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
REF_TEMPLATE = "#/definitions/{model}"
V1_TYPES = {"InitializeParams", "InitializeResponse"}


class _UntitledFields(GenerateJsonSchema):
    """pydantic titles every field after its name ("Threadid"); the upstream schema does not."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _schema_of(annotation: Any, title: str | None = None) -> dict[str, Any]:
    schema = TypeAdapter(annotation).json_schema(
        by_alias=True, ref_template=REF_TEMPLATE, schema_generator=_UntitledFields
    )
    definitions = schema.pop("$defs", None)
    if definitions:
        schema["definitions"] = definitions
    schema["$schema"] = DRAFT_07
    if title is not None:
        schema["title"] = title
    return schema


def _union_file(
    title: str, arms: Iterable[tuple[str, type[BaseModel] | None, bool]], extra: dict[str, Any]
) -> dict[str, Any]:
    """A `oneOf` of `{id?, method, params}` objects, with every params type under `definitions`."""
    definitions: dict[str, Any] = {}
    one_of = []
    for method, params, with_id in arms:
        properties: dict[str, Any] = {"method": {"enum": [method], "type": "string"}}
        required = ["method"]
        if with_id:
            properties["id"] = {"$ref": "#/definitions/RequestId"}
            required.insert(0, "id")
        if params is None:
            properties["params"] = {"type": "null"}
        else:
            schema = _schema_of(params)
            definitions.update(schema.pop("definitions", {}))
            schema.pop("$schema")
            definitions[params.__name__] = schema
            properties["params"] = {"$ref": f"#/definitions/{params.__name__}"}
            required.append("params")
        one_of.append(
            {"type": "object", "properties": properties, "required": required, "title": method}
        )
    if any(with_id for _, _, with_id in arms):
        definitions["RequestId"] = _schema_of(RequestId)
        definitions["RequestId"].pop("$schema")
    return {
        "$schema": DRAFT_07,
        "title": title,
        "oneOf": one_of,
        "definitions": definitions,
        **extra,
    }


def build_schema_files() -> dict[str, dict[str, Any]]:
    """Relative file path → schema, for every file the command writes."""
    files: dict[str, dict[str, Any]] = {}
    client = [(spec.method, spec.params, True) for spec in CLIENT_REQUESTS.values()]
    files["ClientRequest.json"] = _union_file("ClientRequest", client, {})
    files["ClientNotification.json"] = _union_file(
        "ClientNotification", [("initialized", None, False)], {}
    )
    notifications = [(spec.method, spec.params, False) for spec in SERVER_NOTIFICATIONS.values()]
    emitted = {
        "properties": {
            "emittedAtMs": {
                "description": "Unix time in milliseconds when the server emitted it.",
                "type": "integer",
            }
        }
    }
    files["ServerNotification.json"] = _union_file("ServerNotification", notifications, emitted)
    server = [(spec.method, spec.params, True) for spec in SERVER_REQUESTS.values()]
    files["ServerRequest.json"] = _union_file("ServerRequest", server, {})
    envelopes: tuple[tuple[type[BaseModel], str], ...] = (
        (JsonRpcRequest, "JSONRPCRequest"),
        (JsonRpcNotification, "JSONRPCNotification"),
        (JsonRpcResponse, "JSONRPCResponse"),
        (JsonRpcError, "JSONRPCError"),
    )
    for model, title in envelopes:
        files[f"{title}.json"] = _schema_of(model, title)

    types: set[type[BaseModel]] = set()
    for client_spec in CLIENT_REQUESTS.values():
        types.add(client_spec.result)
        if client_spec.params is not None:
            types.add(client_spec.params)
    for server_spec in SERVER_REQUESTS.values():
        types.update((server_spec.params, server_spec.result))
    types.update(spec.params for spec in SERVER_NOTIFICATIONS.values())
    bundle: dict[str, Any] = {}
    for model in sorted(types, key=lambda m: m.__name__):
        name = model.__name__
        schema = _schema_of(model, name)
        folder = "v1" if name in V1_TYPES else "v2"
        files[f"{folder}/{name}.json"] = schema
        bundle.update(schema.get("definitions", {}))
        bundle[name] = {k: v for k, v in schema.items() if k not in ("definitions", "$schema")}
    files["app_server_protocol.schemas.json"] = {
        "$schema": DRAFT_07,
        "title": "AppServerProtocol",
        "definitions": bundle,
    }
    return files


def render(schema: dict[str, Any]) -> str:
    """Deterministic text of one schema file."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schema(out_dir: Path) -> int:
    """Replace `out_dir`'s schema files with freshly generated ones; returns the file count."""
    files = build_schema_files()
    for sub in ("v1", "v2"):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.json"):
        stale.unlink()
    for relative, schema in files.items():
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(schema), encoding="utf-8")
    return len(files)
