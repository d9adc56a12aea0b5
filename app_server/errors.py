"""Typed errors a request can end with, each carrying its JSON-RPC code.

Why here, at the bottom of the package: every layer (store, thread manager, agent, handlers) may
refuse a request, but only the RPC layer builds error objects. Lower layers raise these; the
single mapping in `app_server.rpc.errors` turns them into `{"code", "message"}`. The codes follow
JSON-RPC 2.0 where codex 0.169 is vaguer (README, "Compatibility"), and the message texts keep
0.169's wording where clients match on it ("Not initialized", "thread not found: <id>").
"""

from __future__ import annotations

from typing import ClassVar

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_OVERLOADED = -32001


class RpcError(Exception):
    """A request failed for a reason the client can understand; `message` is shown to people."""

    code: ClassVar[int] = INTERNAL_ERROR
    data: object = None
    """`error.data` when not None (JSON-ready), where codex 0.169 sends one (clients match on
    it), e.g. the current state a conflict refused."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ParseError(RpcError):
    """The message is not JSON."""

    code = PARSE_ERROR


class InvalidRequest(RpcError):
    """The request cannot be served: bad envelope, handshake state, unknown id, state conflict.

    0.169 answers all of these with -32600, and clients match on that code, so the domain
    refusals below (`NotFound`, `Conflict`) keep it.
    """

    code = INVALID_REQUEST


class NotFound(InvalidRequest):
    """The thread, turn or rollout named by the request does not exist (0.169 texts)."""


class Conflict(InvalidRequest):
    """The request contradicts the current state (no active turn, wrong expected turn id, …)."""


class ActiveTurnNotSteerable(InvalidRequest):
    """`turn/steer` while the active turn cannot take input (a manual compaction): codex
    0.169's text, with `data` its `TurnError` carrying `codexErrorInfo.activeTurnNotSteerable`
    (clients match on that, not on the text)."""

    def __init__(self, turn_kind: str) -> None:
        message = f"cannot steer a {turn_kind} turn"
        super().__init__(message)
        self.data = {
            "message": message,
            "codexErrorInfo": {"activeTurnNotSteerable": {"turnKind": turn_kind}},
            "additionalDetails": None,
            "misalignment": None,
        }


class ExperimentalApiRequired(InvalidRequest):
    """An experimental method, field or variant was used without `experimentalApi`."""

    def __init__(self, descriptor: str) -> None:
        super().__init__(f"{descriptor} requires experimentalApi capability")
        self.descriptor = descriptor


class MethodNotFound(RpcError):
    """No such method (or not implemented by this server)."""

    code = METHOD_NOT_FOUND


class InvalidParams(RpcError):
    """The params do not match the method's schema, or a value is semantically invalid."""

    code = INVALID_PARAMS


class InternalError(RpcError):
    """Something failed on our side; the message never carries a traceback."""

    code = INTERNAL_ERROR


class TurnInputRefused(InternalError):
    """`turn/start` while the active turn cannot take input (a manual compaction): codex 0.169
    answers this with -32603 and the Rust debug text of its refusal, kept verbatim."""

    def __init__(self, turn_kind: str) -> None:
        super().__init__(
            "failed to submit turn input: ActiveTurnNotSteerable { turn_kind: "
            f"{turn_kind.capitalize()} }}"
        )


class ServerOverloaded(RpcError):
    """Too much work is queued for this connection; the client should retry later."""

    code = SERVER_OVERLOADED

    def __init__(self, message: str = "Server overloaded; retry later.") -> None:
        super().__init__(message)


class PathError(InvalidRequest):
    """An operation on a path the client named failed (missing, a directory where a file was
    expected, not empty, no permission). codex 0.169 answers these -32603 with the bare OS
    text; -32603 is reserved here for bugs of ours, so this is -32600 (as `NotFound`) and the
    message names the path: "`/w/a.txt`: No such file or directory (os error 2)"."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"`{path}`: {reason}")
        self.path = path
        self.reason = reason
