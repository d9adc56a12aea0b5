#!/usr/bin/env python3
"""Generate `protocol/types.py` and `protocol/methods.py` from the upstream JSON Schema bundle.

Why generated: the upstream bundle (codex 0.169.0, produced by schemars from Rust) is the wire
contract. Generating the pydantic models from it, as lsprotocol is generated from the LSP
meta-model, keeps every field name, required flag, default and enum value in step with the
contract instead of copying hundreds of types by hand.

What it generates: every type reachable from the client requests in `CLIENT_METHODS`, the server
requests in `SERVER_REQUEST_METHODS`, and every server notification. The experimental bundle is
the source (it is a superset); comparing it with the stable bundle tells which methods and fields
are experimental. The output is formatted with ruff and is byte-for-byte reproducible; a test
regenerates it and fails when the committed files are stale.

Usage: python scripts/generate_protocol.py [--schema-dir DIR] [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: `scripts` is then not importable

from scripts.protocol_layout import (  # noqa: E402
    SCALARS_MODULE,
    group_modules,
    names_in,
    strongly_connected,
)

DEFAULT_SCHEMA_DIR = ROOT.parent / "shared" / "schema"
UPSTREAM_VERSION = "0.169.0"
ADDITIONS = ROOT / "protocol" / "codex_0171_additions.json"
"""Additive pieces of codex 0.171.0 (`thread/search/stream`, `thread/search/partial`, the
search cancels, `thread/list.includedThreadIds`), copied from its schema bundle: added to the
0.169.0 bundle before generating, so 0.169 clients see nothing change."""

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

ANY_OF_ENFORCED = {"UserInput": "input"}
"""Unions whose members' `anyOf` groups are checked when a value is validated (`AnyOfModel`), by
union → the noun of its refusal ("an image input needs a `url` or a `fileId`"). Only what
clients send: `ThreadItem`'s `imageGeneration` (a `fileId` or a `result`) is also built from
rollouts, where an item still in progress has neither; `ContentItem`s (history of
`thread/resume`, `thread/inject_items`) are read back from rollouts as written."""

# Written by hand in protocol/jsonrpc.py.
HAND_WRITTEN = {"RequestId"}

OMITTED_WHEN_NONE = {("McpToolCallThreadItem", "mcpAppResourceUri")}
"""Nullable fields that codex 0.169 leaves out rather than sending `null` (serde's
`skip_serializing_if = "Option::is_none"`; the schema cannot say so), by (model, wire name).
Observed on the binary: an `mcpToolCall` item without an app resource has no
`mcpAppResourceUri` key."""

INT_FORMATS = {
    "int32": "Int32",
    "int64": "Int64",
    "uint8": "UInt8",
    "uint16": "UInt16",
    "uint32": "UInt32",
    "uint64": "UInt64",
    "uint": "UInt",
}
RESERVED_NAMES = set(dir(BaseModel)) | {"experimental_fields", "any_of_fields", "any_of_message"}

MODULE_HEADER = '''"""Wire types of the Codex app-server protocol (v2, codex {version}): {what}.

GENERATED by scripts/generate_protocol.py from the upstream JSON Schema bundle; do not edit.
Import these types from `protocol.types`, which loads this module on first use.
"""

from typing import Any, Literal, Annotated

from pydantic import ConfigDict, Field

from protocol.wire_model import (
    AnyOfModel,
    ExperimentalFieldsModel,
    Int32,
    Int64,
    UInt,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    WireModel,
    omit_none,
)
'''

INDEX_HEADER = '''"""Wire types of the Codex app-server protocol (v2, codex {version}).

GENERATED by scripts/generate_protocol.py from the upstream JSON Schema bundle; do not edit.
Python names are snake_case; the wire names are the camelCase aliases (explicit where the wire
name is not the camelCase of the Python name).

Every type is defined in a module of `protocol.models` (a shared type with the types only it
uses, see `scripts/protocol_layout.py`) and loaded from there the first time a name is asked
of this module (PEP 562 `__getattr__`): creating a pydantic class costs ~0.3 ms even with its
validator deferred, so creating all ~600 at import took ~150 ms CPU of every server start,
while a first turn needs a fraction of them. A loaded module's names are then plain attributes
of this one (later lookups cost nothing), and the types a module references are imported
through here, so `vars(protocol.types)` holds every type loaded so far.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Final

RequestId = str | int
"""A JSON-RPC request id: a string or an integer, echoed verbatim."""
'''

INDEX_FOOTER = '''
MODULE_OF: Final[dict[str, str]] = {
    name: module for module, members in MODULE_MEMBERS.items() for name in members
}
"""Type name → its module of `protocol.models`."""

if not TYPE_CHECKING:  # for the type checker, the names above are plain imports

    def __getattr__(name: str) -> object:
        module = MODULE_OF.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        namespace = vars(importlib.import_module(f"protocol.models.{module}"))
        defined = globals()
        for member in MODULE_MEMBERS[module]:
            defined[member] = namespace[member]
        return namespace[name]


def __dir__() -> list[str]:
    return sorted({*globals(), *MODULE_OF})
'''

MODELS_INIT = '''"""The generated wire types, one module per shared type.

Import them from `protocol.types`, which loads these modules lazily.
"""
'''


@dataclass
class FieldSpec:
    wire: str
    py: str
    type_expr: str
    default: str | None
    description: str | None


@dataclass
class ClassSpec:
    name: str
    fields: list[FieldSpec]
    description: str | None
    extra: str | None = None
    experimental_fields: list[str] = field(default_factory=list)
    any_of: list[list[str]] = field(default_factory=list)
    """Python names of the fields of each `anyOf` group (checked only for `ANY_OF_ENFORCED`)."""
    any_of_message: str = ""


@dataclass
class AliasSpec:
    name: str
    expr: str
    description: str | None
    deps: set[str] = field(default_factory=set)


def snake_case(name: str) -> str:
    """`threadId` → `thread_id`; already snake names stay as they are."""
    out = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    out = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", out)
    out = out.lower().lstrip("_").replace("-", "_")  # `ca-certificate` (OtelTlsConfig)
    if not out or out[0].isdigit():
        out = "f_" + out
    if keyword.iskeyword(out) or out in RESERVED_NAMES:
        out += "_"
    return out


def article(word: str) -> str:
    """ "an" before `image`, `audio`, `input_image`; "a" before `url`, `fileId`."""
    return "an" if word[:1].lower() in "aeio" else "a"


def pascal_case(name: str) -> str:
    parts = re.split(r"[^0-9A-Za-z]+", name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def is_nullable(schema: Any) -> bool:
    if not isinstance(schema, dict) or not schema:
        return True
    typ = schema.get("type")
    if isinstance(typ, list) and "null" in typ:
        return True
    if typ == "null":
        return True
    for key in ("anyOf", "oneOf"):
        if any(isinstance(arm, dict) and arm.get("type") == "null" for arm in schema.get(key, [])):
            return True
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return is_nullable(schema["allOf"][0])
    return schema.get("enum") is not None and None in schema["enum"]


def docstring(text: str, indent: str) -> str:
    text = text.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text += " "
    lines = text.splitlines()
    if len(lines) == 1:
        return f'{indent}"""{lines[0]}"""\n'
    body = "\n".join((indent + line) if line.strip() else "" for line in lines[1:])
    return f'{indent}"""{lines[0]}\n{body}\n{indent}"""\n'


class Generator:
    """Turns the definitions of one schema bundle into class and alias specs."""

    def __init__(self, definitions: dict[str, Any]) -> None:
        self.defs = definitions
        self.classes: dict[str, ClassSpec] = {}
        self.aliases: dict[str, AliasSpec] = {}
        self.pending: list[str] = []
        self.seen: set[str] = set()
        self.current_alias_deps: set[str] | None = None

    # -- driving -------------------------------------------------------------------------------
    def require(self, name: str) -> str:
        if name in HAND_WRITTEN:
            return name
        if name not in self.defs:
            raise KeyError(f"unknown definition {name}")
        if name not in self.seen:
            self.seen.add(name)
            self.pending.append(name)
        return name

    def run(self) -> None:
        while self.pending:
            name = self.pending.pop()
            self.emit_definition(name, self.defs[name])

    # -- definitions ---------------------------------------------------------------------------
    def emit_definition(self, name: str, schema: dict[str, Any]) -> None:
        description = schema.get("description")
        arms = schema.get("oneOf") or schema.get("anyOf")
        if arms is not None:
            deps: set[str] = set()
            expr = self.union_expr(arms, name, base=schema, deps=deps)
            self.add_alias(AliasSpec(name, expr, description, deps))
        elif self.is_record(schema):
            self.emit_class(name, schema, description)
        else:
            deps = set()
            expr, _ = self.type_expr(schema, name, deps)
            self.add_alias(AliasSpec(name, expr, description, deps))

    @staticmethod
    def is_record(schema: dict[str, Any]) -> bool:
        """An object with named fields (a class), as opposed to a map (`dict[str, X]`)."""
        if schema.get("properties") is not None:
            return True
        is_map = isinstance(schema.get("additionalProperties"), dict)
        return schema.get("type") == "object" and not is_map

    def add_alias(self, alias: AliasSpec) -> None:
        if alias.name in self.classes or alias.name in self.aliases:
            raise ValueError(f"name clash: {alias.name}")
        self.aliases[alias.name] = alias

    def emit_class(
        self,
        name: str,
        schema: dict[str, Any],
        description: str | None,
        base: dict[str, Any] | None = None,
        union: str | None = None,
    ) -> str:
        if name in self.classes or name in self.aliases:
            raise ValueError(f"name clash: {name}")
        properties: dict[str, Any] = dict(schema.get("properties", {}))
        for wire, prop in (base or {}).get("properties", {}).items():
            properties.setdefault(wire, prop)
        # An object that is also one of several shapes (`ImageUserInput` has either `url` or
        # `fileId`) is one class here, because its tag (`type: "image"`) must map to a single
        # class; each alternative's fields become optional fields of that class.
        for alternative in schema.get("anyOf") or schema.get("oneOf") or []:
            for wire, prop in alternative.get("properties", {}).items():
                properties.setdefault(wire, prop)
        required = set((base or {}).get("required", [])) | set(schema.get("required", []))
        spec = ClassSpec(name, [], description)
        self.classes[name] = spec  # reserve the name before recursing
        additional = schema.get("additionalProperties", (base or {}).get("additionalProperties"))
        if additional is False:
            spec.extra = "forbid"
        elif additional is True:
            spec.extra = "allow"
        used: set[str] = set()
        for wire, prop in properties.items():
            py = snake_case(wire)
            if py in used:
                raise ValueError(f"{name}: two fields map to {py}")
            used.add(py)
            spec.fields.append(self.field_spec(name, wire, py, prop, wire in required))
        if union in ANY_OF_ENFORCED:
            self.add_any_of(spec, schema, ANY_OF_ENFORCED[union])
        return name

    @staticmethod
    def add_any_of(spec: ClassSpec, schema: dict[str, Any], noun: str) -> None:
        """Record the `anyOf` groups of a union member (each alternative's required fields)."""
        groups = [alt.get("required", []) for alt in schema.get("anyOf") or []]
        if not groups or not all(groups):
            return
        spec.any_of = [[snake_case(wire) for wire in group] for group in groups]
        tag = schema.get("properties", {}).get("type", {}).get("enum", [spec.name])[0]
        alternatives = " or ".join(
            " and ".join(f"{article(wire)} `{wire}`" for wire in group) for group in groups
        )
        spec.any_of_message = f"{article(tag)} {tag} {noun} needs {alternatives}"

    def field_spec(self, owner: str, wire: str, py: str, prop: Any, required: bool) -> FieldSpec:
        # An externally tagged variant (`{"granular": {...}}` in `GranularAskForApproval`) names
        # its payload after itself rather than repeating the tag.
        inner = pascal_case(wire)
        ctx = owner + "Payload" if owner.startswith(inner) else owner + inner
        expr, nullable = self.type_expr(prop, ctx, set())
        description = prop.get("description") if isinstance(prop, dict) else None
        alias = None if to_camel(py) == wire else wire
        default: str | None
        has_default = isinstance(prop, dict) and "default" in prop
        enum = prop.get("enum") if isinstance(prop, dict) else None
        omit = False
        if required:
            if enum is not None and len(enum) == 1:
                default = repr(enum[0])
            else:
                default = "None" if nullable else None
        elif has_default:
            default = repr(prop["default"])
            if prop["default"] is None and not nullable:
                expr += " | None"
                omit = True
        elif nullable:
            default = "None"
            omit = (owner, wire) in OMITTED_WHEN_NONE
        else:
            expr += " | None"
            default = "None"
            omit = True
        if alias is not None or omit:
            args = []
            if default is not None:
                args.append(f"default={default}")
            if alias is not None:
                args.append(f"alias={alias!r}")
            if omit:
                args.append("exclude_if=omit_none")
            default = f"Field({', '.join(args)})"
        return FieldSpec(wire, py, expr, default, description)

    # -- type expressions ----------------------------------------------------------------------
    def type_expr(self, schema: Any, ctx: str, deps: set[str]) -> tuple[str, bool]:
        """Python annotation for an inline schema, and whether it admits null."""
        if schema is True or schema == {} or not isinstance(schema, dict):
            return "Any", True
        if "$ref" in schema:
            name = self.require(schema["$ref"].rsplit("/", 1)[-1])
            deps.add(name)
            return name, False
        if "allOf" in schema:
            if len(schema["allOf"]) != 1:
                raise ValueError(f"{ctx}: allOf with several members")
            return self.type_expr(schema["allOf"][0], ctx, deps)
        arms = schema.get("oneOf") or schema.get("anyOf")
        if arms is not None:
            expr = self.union_expr(arms, ctx, base=schema, deps=deps)
            return expr, is_nullable(schema)
        if "enum" in schema:
            values = [v for v in schema["enum"] if v is not None]
            expr = "Literal[" + ", ".join(repr(v) for v in values) + "]"
            nullable = None in schema["enum"] or self.type_admits_null(schema)
            return (expr + " | None" if nullable else expr), nullable
        typ = schema.get("type")
        types = typ if isinstance(typ, list) else [typ]
        nullable = "null" in types
        exprs = [self.single_type(t, schema, ctx, deps) for t in types if t != "null"]
        if not exprs:
            return "None", True
        expr = " | ".join(exprs)
        if nullable:
            expr += " | None"
        return expr, nullable

    @staticmethod
    def type_admits_null(schema: dict[str, Any]) -> bool:
        typ = schema.get("type")
        return isinstance(typ, list) and "null" in typ

    def single_type(self, typ: str | None, schema: dict[str, Any], ctx: str, deps: set[str]) -> str:
        if typ == "string":
            if "minLength" in schema:
                return f"Annotated[str, Field(min_length={schema['minLength']})]"
            return "str"
        if typ == "boolean":
            return "bool"
        if typ == "number":
            return "float"
        if typ == "integer":
            base = INT_FORMATS.get(schema.get("format", ""), "int")
            minimum = schema.get("minimum")
            # Unsigned formats already imply `ge=0`; any other minimum is spelled out.
            if minimum is not None and (minimum != 0 or base in ("int", "Int32", "Int64")):
                return f"Annotated[{base}, Field(ge={int(minimum)})]"
            return base
        if typ == "array":
            item, _ = self.type_expr(schema.get("items", True), ctx + "Item", deps)
            return f"list[{item}]"
        if typ == "object":
            if schema.get("properties"):
                name = schema.get("title") or ctx
                self.emit_class(name, schema, schema.get("description"))
                deps.add(name)
                return name
            additional = schema.get("additionalProperties", True)
            value, _ = self.type_expr(additional, ctx + "Value", deps)
            return f"dict[str, {value}]"
        if typ is None:
            return "Any"
        raise ValueError(f"{ctx}: unsupported type {typ}")

    def union_expr(self, arms: list[Any], ctx: str, base: dict[str, Any], deps: set[str]) -> str:
        """A union of `arms`; object arms inherit `base`'s properties (flat on the wire)."""
        literals: list[Any] = []
        members: list[str] = []
        nullable = False
        object_arms: list[tuple[str, dict[str, Any]]] = []
        base_props: dict[str, Any] = {k: base[k] for k in ("properties", "required") if k in base}
        for index, arm in enumerate(arms):
            if not isinstance(arm, dict):
                members.append("Any")
                continue
            if arm.get("type") == "null":
                nullable = True
                continue
            if "enum" in arm and arm.get("type") == "string":
                literals.extend(arm["enum"])
                continue
            if arm.get("type") == "object" and (arm.get("properties") or base_props):
                name = arm.get("title") or f"{ctx}{self.tag_name(arm) or index}"
                self.emit_class(name, arm, arm.get("description"), base=base_props, union=ctx)
                deps.add(name)
                object_arms.append((name, self.merged(arm, base_props)))
                members.append(name)
                continue
            expr, arm_nullable = self.type_expr(arm, f"{ctx}{index}", deps)
            nullable = nullable or arm_nullable
            if "$ref" in arm:
                target = self.defs[arm["$ref"].rsplit("/", 1)[-1]]
                if target.get("type") == "object" and "oneOf" not in target:
                    object_arms.append((expr, target))
            members.append(expr)
        parts = []
        if literals:
            parts.append("Literal[" + ", ".join(repr(v) for v in literals) + "]")
        parts.extend(members)
        expr = " | ".join(parts)
        all_objects = len(object_arms) == len(members)
        discriminator = self.discriminator(object_arms) if all_objects else None
        if discriminator is not None and not literals and len(members) > 1:
            expr = f"Annotated[{expr}, Field(discriminator={snake_case(discriminator)!r})]"
        if nullable:
            expr += " | None"
        return expr

    @staticmethod
    def merged(arm: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        props = dict(base.get("properties", {}))
        props.update(arm.get("properties", {}))
        required = [*base.get("required", []), *arm.get("required", [])]
        return {"properties": props, "required": required}

    @staticmethod
    def tag_name(arm: dict[str, Any]) -> str | None:
        for prop in arm.get("properties", {}).values():
            if isinstance(prop, dict) and len(prop.get("enum", [])) == 1:
                return pascal_case(str(prop["enum"][0]))
        required = arm.get("required", [])
        return pascal_case(required[0]) if len(required) == 1 else None

    @staticmethod
    def discriminator(arms: list[tuple[str, dict[str, Any]]]) -> str | None:
        if len(arms) < 2:
            return None
        candidates: set[str] | None = None
        for _, schema in arms:
            tags = {
                name
                for name, prop in schema.get("properties", {}).items()
                if isinstance(prop, dict)
                and len(prop.get("enum", [])) == 1
                and name in schema.get("required", [])
            }
            candidates = tags if candidates is None else candidates & tags
        if not candidates:
            return None
        return "type" if "type" in candidates else sorted(candidates)[0]


# -- bundle handling -----------------------------------------------------------------------------
def load_definitions(folder: Path, *, experimental: bool) -> dict[str, Any]:
    bundle = json.loads((folder / "codex_app_server_protocol.schemas.json").read_text())
    defs = dict(bundle["definitions"].pop("v2"))
    defs.update(bundle["definitions"])
    add_later_additions(defs, json.loads(ADDITIONS.read_text()), experimental=experimental)
    return defs


def add_later_additions(
    defs: dict[str, Any], additions: dict[str, Any], *, experimental: bool
) -> None:
    """Add the later codex's additive pieces (`ADDITIONS`) to a 0.169 bundle's definitions:
    new types, new optional properties of existing types, new notifications, and (to the
    experimental surface only) new client requests."""
    defs.update(json.loads(json.dumps(additions["definitions"])))
    for name, properties in additions["properties"].items():
        defs[name] = {**defs[name], "properties": {**defs[name]["properties"], **properties}}
    defs["ServerNotification"] = {
        **defs["ServerNotification"],
        "oneOf": [*defs["ServerNotification"]["oneOf"], *additions["notifications"]],
    }
    if experimental:
        defs["ClientRequest"] = {
            **defs["ClientRequest"],
            "oneOf": [*defs["ClientRequest"]["oneOf"], *additions["experimentalRequests"]],
        }


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


def alias_order(aliases: dict[str, AliasSpec]) -> list[AliasSpec]:
    """Aliases in dependency order (an alias is evaluated at import, so its deps come first)."""
    ordered: list[AliasSpec] = []
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise ValueError(f"recursive alias {name}")
        state[name] = 1
        for dep in sorted(aliases[name].deps):
            if dep in aliases:
                visit(dep)
        state[name] = 2
        ordered.append(aliases[name])

    for name in sorted(aliases):
        visit(name)
    return ordered


def dependency_graph(gen: Generator) -> dict[str, set[str]]:
    """Type name → the generated names it references (fields of a class, an alias's expression)."""
    known = set(gen.classes) | set(gen.aliases)
    graph: dict[str, set[str]] = {}
    for name, spec in gen.classes.items():
        mentioned = set().union(*(names_in(f.type_expr) for f in spec.fields))
        graph[name] = (mentioned & known) - {name}
    for name, alias in gen.aliases.items():
        graph[name] = (names_in(alias.expr) & known) - {name}
    return graph


def module_layout(gen: Generator) -> dict[str, list[str]]:
    """Module name → the type names it defines (`scripts/protocol_layout.py` says why)."""
    groups = group_modules(dependency_graph(gen), gen.aliases)
    modules: dict[str, list[str]] = {}
    for name, group in groups.items():
        module = group if group == SCALARS_MODULE else snake_case(group)
        modules.setdefault(module, []).append(name)
    owners: dict[str, str] = {}
    for module, members in modules.items():
        for group in {groups[member] for member in members}:
            if owners.setdefault(module, group) != group:
                raise ValueError(f"two groups map to module {module}")
    return {module: sorted(members) for module, members in sorted(modules.items())}


def render_class(spec: ClassSpec, pending: set[str]) -> str:
    """A class of a module; `pending` names the module's types not created yet (quoted)."""
    out: list[str] = []
    bases = [
        *(["ExperimentalFieldsModel"] if spec.experimental_fields else []),
        *(["AnyOfModel"] if spec.any_of else []),
    ]
    out.append(f"\nclass {spec.name}({', '.join(bases) or 'WireModel'}):\n")
    if spec.description:
        out.append(docstring(spec.description, "    "))
    if spec.extra:
        out.append(f"    model_config = ConfigDict(extra={spec.extra!r})\n")
    if spec.experimental_fields:
        names = ", ".join(repr(n) for n in spec.experimental_fields)
        out.append(f"    experimental_fields = frozenset({{{names}}})\n")
    if spec.any_of:
        groups = ", ".join(
            "(" + "".join(f"{py!r}, " for py in group) + ")" for group in spec.any_of
        )
        out.append(f"    any_of_fields = ({groups},)\n")
        out.append(f"    any_of_message = {spec.any_of_message!r}\n")
    if not spec.fields and not spec.description and not spec.extra:
        out.append("    pass\n")
    for index, f in enumerate(spec.fields):
        shadowed = {g.py for g in spec.fields[:index]} & names_in(f.type_expr)
        if shadowed:  # an earlier field's default would stand in for the type at runtime
            raise ValueError(f"{spec.name}.{f.py}: annotation names field(s) {shadowed}")
        line = f"    {f.py}: {annotation(f.type_expr, pending)}"
        if f.default is not None:
            line += f" = {f.default}"
        out.append(line + "\n")
        if f.description:
            out.append(docstring(f.description, "    "))
    out.append("\n")
    return "".join(out)


def annotation(expr: str, pending: set[str]) -> str:
    """A field's annotation as written in the class body: the expression itself, or quoted
    (a forward reference, resolved when the model is first built) if it names a type of the
    module not defined yet at that point (a self- or mutually recursive type)."""
    if not names_in(expr) & pending:
        return expr
    if '"' in expr:
        raise ValueError(f"cannot quote annotation {expr}")
    return f'"{expr}"'


def definition_order(gen: Generator, members: list[str]) -> list[list[str]]:
    """A module's types in groups, each group after the groups it references: the mutually
    recursive types (a strongly connected component) form one group, its classes (sorted) before
    its aliases (in dependency order), so an alias only names classes already created.

    Why: the modules are evaluated without `from __future__ import annotations` (pydantic's
    class creation then reads real annotations instead of compiling and evaluating a string per
    field, about a third of its cost), so a name must exist before a class body or an alias
    uses it; only the references inside a recursive group stay strings (`annotation`). A class
    whose annotations all resolve has complete fields when created, so building its validator
    at first use does not collect them again (with postponed annotations 88 of the 605 classes
    named a type defined later in their module and did)."""
    inside = set(members)
    graph = dependency_graph(gen)
    local = {name: graph[name] & inside for name in members}
    order: list[list[str]] = []
    for component in strongly_connected(local):
        classes = sorted(name for name in component if name in gen.classes)
        aliases = {name: gen.aliases[name] for name in component if name in gen.aliases}
        order.append([*classes, *(alias.name for alias in alias_order(aliases))])
    return order


def render_module(gen: Generator, module: str, members: list[str], home: dict[str, str]) -> str:
    """One module of `protocol/models/`: its types in dependency order (`definition_order`)."""
    graph = dependency_graph(gen)
    referenced = set().union(*(graph[name] for name in members))
    referenced |= {
        name
        for name in HAND_WRITTEN
        for member in members
        if member in gen.classes
        and any(name in names_in(f.type_expr) for f in gen.classes[member].fields)
    }
    imported = sorted(name for name in referenced if home.get(name) != module)
    if module == SCALARS_MODULE:
        what = "the aliases that reference no class (enums, scalars)"
    else:
        root = next((name for name in members if snake_case(name) == module), members[0])
        what = f"`{root}` and the types only it uses"
    out = [MODULE_HEADER.format(version=UPSTREAM_VERSION, what=what), "\n"]
    if imported:
        out.append(f"from protocol.types import {', '.join(imported)}\n")
    out.append("\n")
    pending = set(members)
    for group in definition_order(gen, members):
        for name in group:
            if name in gen.classes:
                out.append(render_class(gen.classes[name], pending))
                pending.discard(name)
                continue
            alias = gen.aliases[name]
            if names_in(alias.expr) & pending:
                raise ValueError(f"alias {name} names a class defined after it")
            out.append(f"\n{alias.name} = {alias.expr}\n")
            if alias.description:
                out.append(docstring(alias.description, ""))
            out.append("\n")
            pending.discard(name)
    return "".join(out)


def render_index(modules: dict[str, list[str]]) -> str:
    """`protocol/types.py`: every name, each loaded from its module on first access."""
    out = [INDEX_HEADER.format(version=UPSTREAM_VERSION)]
    out.append("\nif TYPE_CHECKING:\n")
    for module, members in modules.items():
        names = ", ".join(f"{name} as {name}" for name in members)
        out.append(f"    from protocol.models.{module} import {names}\n")
    out.append("\nMODULE_MEMBERS: Final[dict[str, tuple[str, ...]]] = {\n")
    for module, members in modules.items():
        out.append(f"    {module!r}: ({''.join(f'{name!r}, ' for name in members)}),\n")
    out.append("}\n")
    out.append('"""Module of `protocol.models` → the type names it defines."""\n')
    out.append(INDEX_FOOTER)
    return "".join(out)


def render_methods(roots: dict[str, Any], stable_roots: dict[str, Any]) -> str:
    out = [
        f'"""Method registry of the Codex app-server protocol (v2, codex {UPSTREAM_VERSION}).\n\n',
        "GENERATED by scripts/generate_protocol.py from the upstream JSON Schema bundle; "
        "do not edit.\n",
        '"""\n\n',
        "from __future__ import annotations\n\n",
        "from typing import Final\n\n",
        "from protocol.method_spec import (\n",
        "    ClientRequestSpec,\n    ServerNotificationSpec,\n    ServerRequestSpec,\n)\n",
    ]
    out.append("CLIENT_REQUESTS: Final[dict[str, ClientRequestSpec]] = {\n")
    for method, (params, result) in roots["client"].items():
        experimental = method not in stable_roots["client"]
        out.append(
            f"    {method!r}: ClientRequestSpec({method!r}, {params and repr(params)}, {result!r}, "
            f"experimental={experimental}, params_optional={all_optional(params, roots)}),\n"
        )
    out.append("}\n")
    out.append('"""The client requests this server implements, by method name."""\n\n')
    out.append("SERVER_REQUESTS: Final[dict[str, ServerRequestSpec]] = {\n")
    for method, (params, result) in roots["server"].items():
        experimental = method not in stable_roots["server"]
        out.append(
            f"    {method!r}: ServerRequestSpec({method!r}, {params!r}, {result!r}, "
            f"experimental={experimental}),\n"
        )
    out.append("}\n")
    out.append('"""Server→client requests (approvals, tool calls), by method name."""\n\n')
    out.append("SERVER_NOTIFICATIONS: Final[dict[str, ServerNotificationSpec]] = {\n")
    for method, params in sorted(roots["notifications"].items()):
        out.append(f"    {method!r}: ServerNotificationSpec({method!r}, {params!r}),\n")
    out.append("}\n")
    out.append('"""Every server→client notification, by method name."""\n\n')
    methods_of: dict[str, list[str]] = {}
    for method, params in roots["notifications"].items():
        methods_of.setdefault(params, []).append(method)
    shared = sorted(params for params, methods in methods_of.items() if len(methods) > 1)
    out.append("NOTIFICATION_METHODS: Final[dict[str, str]] = {\n")
    for params, methods in sorted(methods_of.items()):
        if len(methods) == 1:
            out.append(f"    {params!r}: {methods[0]!r},\n")
    out.append("}\n")
    out.append(
        '"""The method of each notification params type (by name), so a sender names only the\n'
        "params.\n"
        "Types several methods share are left out (their senders name the method):\n"
        f'{", ".join(shared)}.\n"""\n\n'
    )
    out.append("UPSTREAM_CLIENT_METHODS: Final[frozenset[str]] = frozenset(\n    {\n")
    out.extend(f"        {m!r},\n" for m in roots["all_client_methods"])
    out.append("    }\n)\n")
    out.append(
        f'"""Every client request codex {UPSTREAM_VERSION} knows, implemented here or not."""\n'
    )
    return "".join(out)


_ALL_OPTIONAL: dict[str | None, bool] = {None: True}


def all_optional(params: str | None, roots: dict[str, Any]) -> bool:
    return _ALL_OPTIONAL[params]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema-dir", type=Path, default=DEFAULT_SCHEMA_DIR)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "protocol")
    args = parser.parse_args()
    folder = args.schema_dir / f"codex-app-server-{UPSTREAM_VERSION}"
    exp_defs = load_definitions(folder.with_name(folder.name + "-experimental"), experimental=True)
    stable_defs = load_definitions(folder, experimental=False)
    exp, roots = build(exp_defs)
    stable, stable_roots = build(stable_defs)
    mark_experimental(exp, stable)
    for params, _ in roots["client"].values():
        if params is not None:
            _ALL_OPTIONAL[params] = not exp_defs[params].get("required")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    types_path = args.out_dir / "types.py"
    methods_path = args.out_dir / "methods.py"
    models_dir = args.out_dir / "models"
    models_dir.mkdir(exist_ok=True)
    for stale in models_dir.glob("*.py"):
        stale.unlink()
    modules = module_layout(exp)
    home = {name: module for module, members in modules.items() for name in members}
    for module, members in modules.items():
        (models_dir / f"{module}.py").write_text(render_module(exp, module, members, home))
    (models_dir / "__init__.py").write_text(MODELS_INIT)
    types_path.write_text(render_index(modules))
    methods_path.write_text(render_methods(roots, stable_roots))
    ruff = [sys.executable, "-m", "ruff"]
    outputs = [str(types_path), str(methods_path), str(models_dir)]
    for cmd in (["check", "--fix-only", "--quiet", "--select", "I,UP,F401"], ["format", "--quiet"]):
        subprocess.run([*ruff, *cmd, *outputs], check=True, cwd=ROOT)
    print(
        f"wrote {types_path} and {len(modules)} modules in {models_dir} "
        f"({len(exp.classes)} classes, {len(exp.aliases)} aliases)"
    )
    print(f"wrote {methods_path} ({len(roots['client'])} client requests)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
