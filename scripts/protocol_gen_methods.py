"""The methods this server implements, and the wire types their params and results need.

`CLIENT_METHODS` and `SERVER_REQUEST_METHODS` pick the requests in scope (every server
notification is); `build` reads each method's params type from the bundle's method unions,
derives its result type, and has the Generator emit both and everything they reach.
`mark_experimental` compares the experimental bundle's classes with the stable one's.
"""

from __future__ import annotations

from typing import Any

from scripts.protocol_gen_schema import Generator
from scripts.protocol_gen_specs import pascal_case

# Client requests this server implements (PROTOCOL.md §2 and §7). Extend here, then regenerate.
CLIENT_METHODS: tuple[str, ...] = (
    "initialize",
    "thread/start",
    "thread/resume",
    "thread/fork",
    "thread/archive",
    "thread/unarchive",
    "thread/delete",
    "thread/unsubscribe",
    "thread/name/set",
    "thread/list",
    "thread/loaded/list",
    "thread/read",
    "thread/turns/list",
    "thread/items/list",
    "thread/search",
    "thread/search/stream",
    "thread/search/cancel",
    "thread/search/stream/cancel",
    "thread/compact/start",
    "rollout/compress",
    "turn/start",
    "turn/steer",
    "turn/interrupt",
    "model/list",
    "account/read",
    "account/rateLimits/read",
    "account/bedrock/checkGovCloudRequirements",
    "config/read",
    "config/value/write",
    "config/batchWrite",
    "configRequirements/read",
    "hooks/list",
    "collaborationMode/list",
    "permissionProfile/list",
    "experimentalFeature/list",
    "modelProvider/list",
    "modelProvider/capabilities/read",
    "thread/readState/update",
    "thread/goal/set",
    "thread/goal/get",
    "thread/goal/clear",
    "skills/list",
    "skills/config/write",
    "plugin/installed",
    "plugin/list",
    "thread/backgroundTerminals/list",
    "thread/settings/update",
    "turn/settings/update",
    "thread/metadata/update",
    "fs/readFile",
    "fs/writeFile",
    "fs/createDirectory",
    "fs/getMetadata",
    "fs/readDirectory",
    "fs/remove",
    "fs/copy",
    "fs/watch",
    "fs/unwatch",
    "command/exec",
    "command/exec/write",
    "command/exec/resize",
    "command/exec/terminate",
    "process/spawn",
    "process/writeStdin",
    "process/resizePty",
    "process/kill",
    "fuzzyFileSearch",
    "fuzzyFileSearch/sessionStart",
    "fuzzyFileSearch/sessionUpdate",
    "fuzzyFileSearch/sessionStop",
    "thread/backgroundTerminals/terminate",
    "thread/backgroundTerminals/clean",
    "mcpServerStatus/list",
    "mcpServer/tool/call",
    "mcpServer/resource/read",
    "config/mcpServer/reload",
    "thread/shellCommand",
    "thread/inject_items",
    "thread/items/read",
    "thread/queue/add",
    "thread/queue/list",
    "thread/queue/update",
    "thread/queue/delete",
    "thread/queue/reorder",
    "thread/queue/start",
    "thread/memoryMode/set",
    "thread/revert",
    "review/start",
)

# Server→client requests in scope (PROTOCOL.md §4).
SERVER_REQUEST_METHODS: tuple[str, ...] = (
    "item/commandExecution/requestApproval",
    "item/fileChange/requestApproval",
    "item/tool/requestUserInput",
    "item/tool/call",
    "item/permissions/requestApproval",
)


def method_table(defs: dict[str, Any], union: str) -> dict[str, str | None]:
    table: dict[str, str | None] = {}
    for arm in defs[union]["oneOf"]:
        method = arm["properties"]["method"]["enum"][0]
        schema = arm["properties"].get("params", {})
        params = schema.get("$ref") or next(
            (alt["$ref"] for alt in schema.get("anyOf", ()) if "$ref" in alt), None
        )  # `anyOf: [{$ref}, {type: null}]`: optional params (`account/rateLimits/read`)
        table[method] = params.rsplit("/", 1)[-1] if params else None
    return table


RESULT_NAMES = {
    "config/value/write": "ConfigWriteResponse",
    "config/batchWrite": "ConfigWriteResponse",
    "config/mcpServer/reload": "McpServerRefreshResponse",
}
"""Methods whose result type is not named after their params type."""


def response_name(params: str, method: str = "") -> str:
    if method in RESULT_NAMES:
        return RESULT_NAMES[method]
    if not params.endswith("Params"):
        raise ValueError(f"cannot derive response type of {params}")
    return params[: -len("Params")] + "Response"


def build(defs: dict[str, Any]) -> tuple[Generator, dict[str, Any]]:
    gen = Generator(defs)
    client = method_table(defs, "ClientRequest")
    server = method_table(defs, "ServerRequest")
    notes = method_table(defs, "ServerNotification")
    roots: dict[str, Any] = {"client": {}, "server": {}, "notifications": {}}
    for method in CLIENT_METHODS:
        if method not in client:
            continue
        params = client[method]
        if params is None:  # the method takes no params (`"params": {"type": "null"}`)
            result = RESULT_NAMES.get(method) or pascal_case(method) + "Response"
            roots["client"][method] = (None, gen.require(result))
        else:
            result = response_name(params, method)
            roots["client"][method] = (gen.require(params), gen.require(result))
    for method in SERVER_REQUEST_METHODS:
        params = server.get(method)
        if params is None:
            continue
        roots["server"][method] = (gen.require(params), gen.require(response_name(params)))
    for method, params in notes.items():
        assert params is not None
        roots["notifications"][method] = gen.require(params)
    gen.run()
    roots["all_client_methods"] = sorted(client)
    return gen, roots


def mark_experimental(exp: Generator, stable: Generator) -> None:
    for name, spec in exp.classes.items():
        if name not in stable.classes:
            continue
        stable_wires = {f.wire for f in stable.classes[name].fields}
        spec.experimental_fields = sorted(f.wire for f in spec.fields if f.wire not in stable_wires)
