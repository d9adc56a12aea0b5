"""What the registry in `protocol.methods` says about each method: its types and its gating.

The types are named, not held: `protocol.types` loads a type's module on first use, so the
registry costs nothing at import and a method's models are created when it is first called.
The specs are `msgspec.Struct`s, as the server's own records are: a frozen dataclass costs ~0.5 ms
to create, and these three are created by every server start.
"""

from __future__ import annotations

from msgspec import Struct

from protocol import types as wire
from protocol.wire_model import WireModel


def wire_type(name: str) -> type[WireModel]:
    """The generated model named `name` (loaded now if it was not yet)."""
    model = getattr(wire, name)
    if not (isinstance(model, type) and issubclass(model, WireModel)):
        raise TypeError(f"protocol.types.{name} is not a wire model")
    return model


class ClientRequestSpec(Struct, frozen=True):
    """A client→server request: the type of its params and of its result."""

    method: str
    params_name: str | None
    """None when the method takes no params at all (`rollout/compress`)."""
    result_name: str
    experimental: bool
    """Only connections that set `capabilities.experimentalApi` may call it."""
    params_optional: bool
    """Every params field is optional, so a request without `params` means `{}`."""

    @property
    def params(self) -> type[WireModel] | None:
        return None if self.params_name is None else wire_type(self.params_name)

    @property
    def result(self) -> type[WireModel]:
        return wire_type(self.result_name)


class ServerRequestSpec(Struct, frozen=True):
    """A server→client request (approvals, tool calls): its params and the client's answer."""

    method: str
    params_name: str
    result_name: str
    experimental: bool

    @property
    def params(self) -> type[WireModel]:
        return wire_type(self.params_name)

    @property
    def result(self) -> type[WireModel]:
        return wire_type(self.result_name)


class ServerNotificationSpec(Struct, frozen=True):
    """A server→client notification and the type of its params."""

    method: str
    params_name: str

    @property
    def params(self) -> type[WireModel]:
        return wire_type(self.params_name)
