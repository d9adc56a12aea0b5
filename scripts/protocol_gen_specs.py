"""What the protocol generator builds from the schema, and how it names things.

The Generator (`scripts/protocol_gen_schema.py`) turns schema definitions into these specs
(a class with its fields, an alias with its expression); the renderers
(`scripts/protocol_gen_models.py`) write them out as Python. Also kept here: the naming rules
both share (wire name → Python name) and the facts about the wire that the schema cannot say
(which unions check their `anyOf` groups, which nullable fields codex omits), each kept by hand.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from pydantic import BaseModel

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
