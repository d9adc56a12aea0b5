"""Validate what the server emits against codex 0.169.0's own JSON Schema bundle.

The upstream bundle in `../shared/schema/` is the wire contract. Every message a test client
receives goes through `UpstreamSchema.violations_for`: responses are checked against
`v2/<Result>.json` (`v1/` for `initialize`), notifications against their arm of
`ServerNotification.json`, server requests against `ServerRequest.json`, errors against
`JSONRPCError.json`. The stable folder is used for plain connections and the experimental one for
connections that set `experimentalApi`, so leaking an experimental field to a stable client is
caught where the stable schema forbids it.

The few additive pieces of codex 0.171.0 this server also speaks (`protocol/
codex_0171_additions.json`: `thread/search/stream`, its cancels, `thread/search/partial`) are
checked against their 0.171 schema, whose references resolve into the 0.169 bundle.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from protocol.methods import CLIENT_REQUESTS

SCHEMA_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "schema"
STABLE = SCHEMA_ROOT / "codex-app-server-0.169.0"
EXPERIMENTAL = SCHEMA_ROOT / "codex-app-server-0.169.0-experimental"

ADDITIONS = Path(__file__).resolve().parents[2] / "protocol" / "codex_0171_additions.json"

ALIASES_NOT_IN_UPSTREAM = {"turn/safetyBuffering/updated": "model/safetyBuffering/updated"}
"""Notifications we emit under a second name (issue 4); checked against the 0.169 method's arm."""


@cache
def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@cache
def _validator(path: Path) -> Draft7Validator:
    return Draft7Validator(_load(path))


@cache
def _arm_validators(path: Path) -> dict[str, Draft7Validator]:
    """One validator per `oneOf` arm of a union file, keyed by the arm's method."""
    union = _load(path)
    definitions = union.get("definitions", {})
    out: dict[str, Draft7Validator] = {}
    for arm in union["oneOf"]:
        method = arm["properties"]["method"]["enum"][0]
        out[method] = Draft7Validator({**arm, "definitions": definitions})
    return out


@cache
def _with_additions(folder: Path) -> dict[str, Any]:
    """The folder's bundle definitions (`v2` nested, as its `$ref`s expect) plus the 0.171
    additions' types."""
    definitions = dict(_load(folder / "codex_app_server_protocol.schemas.json")["definitions"])
    definitions["v2"] = {**definitions["v2"], **_load(ADDITIONS)["definitions"]}
    return definitions


def _addition_validator(folder: Path, schema: dict[str, Any]) -> Draft7Validator:
    return Draft7Validator({**schema, "definitions": _with_additions(folder)})


def _added_notifications() -> dict[str, dict[str, Any]]:
    arms: list[dict[str, Any]] = _load(ADDITIONS)["notifications"]
    return {arm["properties"]["method"]["enum"][0]: arm for arm in arms}


def _errors(validator: Draft7Validator, instance: object, label: str) -> list[str]:
    return [
        f"{label}: {error.message} at {'/'.join(str(p) for p in error.absolute_path) or '<root>'}"
        for error in validator.iter_errors(instance)
    ][:5]


def result_schema_path(method: str, experimental: bool) -> Path | None:
    spec = CLIENT_REQUESTS.get(method)
    if spec is None:
        return None
    folder = EXPERIMENTAL if experimental else STABLE
    name = spec.result.__name__
    sub = "v1" if method == "initialize" else "v2"
    for path in (folder / sub / f"{name}.json", folder / f"{name}.json"):
        # A few v1-era types (`FuzzyFileSearchResponse`) sit at the top of the folder.
        if path.exists():
            return path
    return None


def check_response(method: str, message: dict[str, Any], experimental: bool) -> list[str]:
    """Violations of a response to `method` (a result or an error)."""
    folder = EXPERIMENTAL if experimental else STABLE
    if "error" in message:
        if message.get("id") is None:
            error_schema = _load(folder / "JSONRPCError.json")["definitions"]["JSONRPCErrorError"]
            return _errors(Draft7Validator(error_schema), message["error"], "error")
        return _errors(_validator(folder / "JSONRPCError.json"), message, "error response")
    path = result_schema_path(method, experimental)
    spec = CLIENT_REQUESTS.get(method)
    if (
        path is None
        and spec is not None
        and spec.result.__name__ in _load(ADDITIONS)["definitions"]
    ):
        schema = {"$ref": f"#/definitions/v2/{spec.result.__name__}"}
        result = message.get("result")
        return _errors(_addition_validator(folder, schema), result, f"{method} result")
    if path is None:
        return [f"no upstream result schema for {method}"]
    return _errors(_validator(path), message.get("result"), f"{method} result")


def check_notification(message: dict[str, Any], experimental: bool) -> list[str]:
    folder = EXPERIMENTAL if experimental else STABLE
    method = message.get("method")
    if not isinstance(method, str):
        return [f"notification without a method: {message!r}"]
    method = ALIASES_NOT_IN_UPSTREAM.get(method, method)
    problems = []
    if not isinstance(message.get("emittedAtMs"), int):
        problems.append(f"{method}: missing integer emittedAtMs")
    arms = _arm_validators(folder / "ServerNotification.json")
    validator = arms.get(method)
    if validator is None and method in _added_notifications():
        validator = _addition_validator(folder, _added_notifications()[method])
    if validator is None:
        return [*problems, f"{method}: not a notification of codex 0.169.0"]
    body = {"method": method, "params": message.get("params")}
    return [*problems, *_errors(validator, body, f"notification {method}")]


def check_server_request(message: dict[str, Any], experimental: bool) -> list[str]:
    folder = EXPERIMENTAL if experimental else STABLE
    method = message.get("method")
    validator = _arm_validators(folder / "ServerRequest.json").get(str(method))
    if validator is None:
        return [f"{method}: not a server request of codex 0.169.0"]
    return _errors(validator, message, f"server request {method}")
