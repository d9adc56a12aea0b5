"""The base class every wire message derives from, and the integer types the schema uses.

Why a shared base: the upstream protocol is camelCase JSON while our code is snake_case Python;
one config here gives every generated model the same aliasing, lenient parsing (unknown fields
are ignored, as 0.169 does) and deferred validator building (importing hundreds of models must
not slow down the server's start).

Experimental fields: some fields exist only for connections that set
`capabilities.experimentalApi`. Models that have such fields derive from
`ExperimentalFieldsModel`; serializing them with `context={"experimental": False}` drops those
fields, so one model serves both kinds of connection.

No `from __future__ import annotations` here: pydantic reads the annotations of every base of a
model it creates, so a string annotation here (`experimental_fields`) was compiled and evaluated
again for each of the ~600 wire classes (the generated modules avoid it for the same reason).
"""

from functools import cache
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

EXPERIMENTAL_CONTEXT_KEY = "experimental"
"""Serialization-context key: `False` strips experimental fields (see `ExperimentalFieldsModel`)."""

Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
UInt8 = Annotated[int, Field(ge=0, le=2**8 - 1)]
UInt16 = Annotated[int, Field(ge=0, le=2**16 - 1)]
UInt32 = Annotated[int, Field(ge=0, le=2**32 - 1)]
UInt64 = Annotated[int, Field(ge=0, le=2**64 - 1)]
UInt = UInt64


DEFERRED = ConfigDict(defer_build=True)
"""`TypeAdapter(…, config=DEFERRED)`: a module-level adapter builds its validator on first use,
not at import (a union such as `ThreadItem` costs ~10 ms to build; startup needs none)."""


@cache
def wire_name(name: str) -> str:
    """The camelCase wire name of a snake_case field name (`thread_id` → `threadId`).

    Why cached: pydantic calls the alias generator for every field of every model it creates,
    and `to_camel` runs three regular expressions; the wire classes share most field names
    (`thread_id`, `type`, …), so remembering them saves ~10% of creating a class. The cache
    holds one entry per distinct field name of the classes defined in code (a few thousand
    short strings at most), so it needs no bound."""
    return to_camel(name)


def omit_none(value: object) -> bool:
    """`exclude_if` predicate for optional fields whose schema does not allow `null`."""
    return value is None


class WireModel(BaseModel):
    """A JSON object of the app-server protocol (camelCase on the wire, snake_case in Python)."""

    model_config = ConfigDict(
        alias_generator=wire_name,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        defer_build=True,
        protected_namespaces=(),
        extra="ignore",
    )

    experimental_fields: ClassVar[frozenset[str]] = frozenset()
    """Wire names of the fields only `experimentalApi` connections may send or receive."""


class ExperimentalFieldsModel(WireModel):
    """A message with experimental fields, dropped when serialized for a stable connection."""

    @model_serializer(mode="wrap")
    def _drop_experimental_fields(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> Any:
        data = handler(self)
        context = info.context
        if (
            isinstance(context, dict)
            and context.get(EXPERIMENTAL_CONTEXT_KEY) is False
            and isinstance(data, dict)
        ):
            for name in self.experimental_fields:
                data.pop(name, None)
        return data


class AnyOfModel(WireModel):
    """A message whose schema also requires one of several groups of its fields (`anyOf`):
    an `image` input names its `url` or its `fileId`. Each group's fields are optional fields of
    the one class (its tag must map to a single class), so the class checks after validation
    that every field of at least one group is set, and refuses the value otherwise (-32602 for
    a request), as codex 0.169 does when it deserializes it. Generated for the unions in
    `scripts/protocol_gen_specs.py`'s `ANY_OF_ENFORCED`."""

    any_of_fields: ClassVar[tuple[tuple[str, ...], ...]] = ()
    """The groups, as Python field names: all of one group's fields must be set."""
    any_of_message: ClassVar[str] = ""
    """The refusal, e.g. "an image input needs a `url` or a `fileId`"."""

    @model_validator(mode="after")
    def _one_group_set(self) -> Self:
        for group in self.any_of_fields:
            if all(getattr(self, name) is not None for name in group):
                return self
        raise PydanticCustomError("any_of", self.any_of_message)
