"""What the registry in `protocol.methods` says about each method: its types and its gating."""

from __future__ import annotations

from dataclasses import dataclass

from protocol.wire_model import WireModel


@dataclass(frozen=True, slots=True)
class ClientRequestSpec:
    """A client→server request: the type of its params and of its result."""

    method: str
    params: type[WireModel] | None
    """None when the method takes no params at all (`rollout/compress`)."""
    result: type[WireModel]
    experimental: bool
    """Only connections that set `capabilities.experimentalApi` may call it."""
    params_optional: bool
    """Every params field is optional, so a request without `params` means `{}`."""


@dataclass(frozen=True, slots=True)
class ServerRequestSpec:
    """A server→client request (approvals, tool calls): its params and the client's answer."""

    method: str
    params: type[WireModel]
    result: type[WireModel]
    experimental: bool


@dataclass(frozen=True, slots=True)
class ServerNotificationSpec:
    """A server→client notification and the type of its params."""

    method: str
    params: type[WireModel]
