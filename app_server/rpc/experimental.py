"""The `experimentalApi` gate on incoming params (PROTOCOL.md §2.4).

A connection that did not opt in may not use experimental methods (checked by the dispatcher from
the method registry), fields, or enum variants. Which fields are experimental is generated from
the difference between the stable and experimental upstream schema bundles
(`WireModel.experimental_fields`); enum variants are not visible in that difference, so the few in
scope are listed here.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from pydantic import BaseModel

from app_server.errors import ExperimentalApiRequired
from protocol.types import GranularAskForApproval
from protocol.wire_model import WireModel

EXPERIMENTAL_VARIANTS: dict[type[BaseModel], str] = {
    GranularAskForApproval: "askForApproval.granular",
}
"""Variant classes only experimental clients may send, with 0.169's descriptor for each."""


@cache
def _experimental_attributes(cls: type[WireModel]) -> tuple[tuple[str, str], ...]:
    """(python name, wire name) of the class's experimental fields."""
    wire_to_python = {(info.alias or name): name for name, info in cls.model_fields.items()}
    return tuple(
        (wire_to_python[wire], wire) for wire in cls.experimental_fields if wire in wire_to_python
    )


def _descriptor_prefix(cls: type[BaseModel]) -> str:
    name = cls.__name__.removesuffix("Params")
    return name[:1].lower() + name[1:]


def check_experimental_params(method: str, params: WireModel) -> None:
    """Raise `ExperimentalApiRequired` if `params` uses anything experimental.

    A field counts as used when it is present with a non-null value. Top-level fields are named
    `<method>.<field>` as 0.169 does; nested ones `<type>.<field>`. The walk uses an explicit
    stack: free-form values (`config`, `outputSchema`) are as deep as the client made them.
    """
    stack: list[tuple[object, str | None]] = [(params, method)]
    while stack:
        value, prefix = stack.pop()
        if isinstance(value, BaseModel):
            _check_model(value, prefix)
            cls = type(value)
            children: Iterable[object] = (getattr(value, name) for name in cls.model_fields)
        elif isinstance(value, list | tuple):
            children = value
        elif isinstance(value, dict):
            children = value.values()
        else:
            continue
        nested = [
            (child, None)
            for child in children
            if child is not None and not isinstance(child, str | int | float | bool)
        ]
        stack.extend(reversed(nested))  # depth first in field order: the first use is named


def _check_model(value: BaseModel, prefix: str | None) -> None:
    cls = type(value)
    variant = EXPERIMENTAL_VARIANTS.get(cls)
    if variant is not None:
        raise ExperimentalApiRequired(variant)
    if isinstance(value, WireModel):
        for python_name, wire_name in _experimental_attributes(type(value)):
            if getattr(value, python_name) is not None:
                raise ExperimentalApiRequired(f"{prefix or _descriptor_prefix(cls)}.{wire_name}")
