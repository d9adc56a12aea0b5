"""Hypothesis strategies for throwing junk at the server: bytes, JSON, and almost-right requests."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from hypothesis import strategies as st

from app_server.config import load_config
from app_server.server import AppServer
from app_server.transport.limits import MAX_NESTING_DEPTH
from protocol.methods import CLIENT_REQUESTS, UPSTREAM_CLIENT_METHODS

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)

json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)


def _field_names() -> list[str]:
    names: set[str] = set()
    for spec in CLIENT_REQUESTS.values():
        if spec.params is not None:
            names.update(info.alias or name for name, info in spec.params.model_fields.items())
    return sorted(names)


FIELD_NAMES = _field_names()

methods = (
    st.sampled_from(sorted(CLIENT_REQUESTS))
    | st.sampled_from(sorted(UPSTREAM_CLIENT_METHODS))
    | st.text(max_size=25)
)

params = (
    st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=10), json_values, max_size=6)
    | json_values
)


@st.composite
def requests(draw: st.DrawFn, request_id: str) -> dict[str, Any]:
    """A request with the given id, a plausible or random method and plausible params."""
    message: dict[str, Any] = {"id": request_id, "method": draw(methods)}
    if draw(st.booleans()):
        message["params"] = draw(params)
    return message


random_bytes = st.binary(max_size=300)


# -- hostile values (issue 14) -------------------------------------------------------------------
#
# What a hostile tester sends: values far deeper, longer or stranger than any client would, in any
# field. The server must answer each such request with a result or a typed error, never -32603,
# and never stop serving.


HOST_EFFECT_PREFIXES = (
    "fs/",
    "command/exec",
    "process/",
    "fuzzyFileSearch",
    "thread/shellCommand",
    "review/start",
)
"""Methods that act on the host at the paths and argv they are given: fuzzed with invented
params they would remove, overwrite, watch or walk real files (`fs/remove` of `/` is one
generated string away) and run real programs (`thread/shellCommand` runs any generated string
unsandboxed; `review/start` runs git in the thread's cwd and lets the reviewer model run
commands). They are not fuzzed; their handling of bad input is tested on temp dirs in
tests/e2e/test_fs.py, test_command_exec.py, test_fuzzy_file_search.py, test_shell_command.py and
test_review.py."""


@cache
def served_methods() -> tuple[str, ...]:
    """The methods the server has handlers for, asked of a server that is built but never
    started (so a method added to the server is fuzzed without anyone listing it here), less
    those with host effects (`HOST_EFFECT_PREFIXES`)."""
    with tempfile.TemporaryDirectory() as scratch:
        server = AppServer(load_config(Path(scratch) / "data", []))
        methods = {
            m for m in server.dispatcher.served_methods if not m.startswith(HOST_EFFECT_PREFIXES)
        }
    # Strategies favour the first choice: `initialize` (always "Already initialized") goes last.
    return tuple(sorted(methods, key=lambda method: (method == "initialize", method)))


HOSTILE_DEPTHS = (MAX_NESTING_DEPTH - 4, MAX_NESTING_DEPTH + 1, 300, 1000, 1100)
"""Nesting depths of generated deep values: just inside the limit once placed in a message, just
past it, past orjson's encoder (255) and Python's recursion limit (1000), past orjson's parser
(1024)."""

HUGE_STRING_LENGTHS = (256, 300, 4096, 5000, 70_000, 1 << 20)
"""Lengths of generated long strings: around NAME_MAX (255 bytes) and PATH_MAX (4096), past the
32,768 characters the search index keeps of a message, a megabyte."""

LONG_LIST_LENGTHS = (101, 1001, 300_000)
"""Lengths of generated long lists: past `excludedThreadIds`' cap, past the filter cap, past
SQLite's limit on bound parameters (250,000 here)."""

_STRING_PIECES = ("a", "é", "😀", "/", "a/", "\x00", "[", "{", '"', "\\", "\u2028", "\x1b", "%")

EDGE_STRINGS = (
    "",
    " ",
    "\x00",
    "hel\x00",
    "hel\x00lo",
    "~",
    "~\x00",
    "~root/x",
    "~no-such-user-xyz/x",
    ".",
    "..",
    "../../../etc/passwd",
    "/",
    "/tmp",
    "/tmp/" + "a" * 300,
    "/tmp/" + "a" * 300 + "/x.jsonl",
    "/proc/self/root",
    "\u2028",
    "😀",
    "²",
    "١٢",
    "0",
    "-1",
    "9" * 5000,
    "NaN",
    '"',
    '"unterminated',
    "a OR b",
    "NEAR(a b)",
    "col:term",
    "*",
    "^x",
    "'; DROP TABLE threads; --",
    "%s%n%x",
    "00000000-0000-0000-0000-000000000000",
    "0199a213-81c0-7800-8aa1-bbab2a035a53",
    "2026-11-24T18-57-47|01a20eeb-d831-7a02-9d64-3f4dc028f2f7",
    "not|a|cursor",
)
"""Strings that have broken parsers, paths, SQL or FTS5 queries somewhere."""


def encodable_int(value: int) -> int | orjson.Fragment:
    """`value` as orjson can write it: integers beyond 64 bits become raw JSON text."""
    return value if -(2**63) <= value < 2**64 else orjson.Fragment(str(value).encode())


EDGE_NUMBERS = (
    *(encodable_int(n) for n in (0, -1, 1, 2**31, 2**32, 2**53 + 1, 2**63 - 1, -(2**63), 2**64)),
    1.5,
    -0.0,
    1e308,
)

wire_json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70).map(encodable_int)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
"""`json_values` that orjson can encode (for clients that send with orjson)."""


def nested_json(depth: int, kind: str) -> orjson.Fragment:
    """Raw JSON text of arrays (`[`) or objects (`{`) nested `depth` deep: built as text because
    every JSON encoder refuses (or recurses into) values this deep."""
    if kind == "[":
        return orjson.Fragment(b"[" * depth + b"]" * depth)
    return orjson.Fragment(b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1))


deep_values = st.builds(nested_json, st.sampled_from(HOSTILE_DEPTHS), st.sampled_from("[{"))
huge_strings = st.builds(
    lambda piece, length: (piece * length)[:length],
    st.sampled_from(_STRING_PIECES),
    st.sampled_from(HUGE_STRING_LENGTHS),
)
strange_strings = st.sampled_from(EDGE_STRINGS) | st.text(
    st.characters(codec="utf-8"), min_size=1, max_size=12
)
long_lists = st.builds(
    lambda item, length: [item] * length,
    st.sampled_from(["a", "", "/tmp", 0, None, {}]),
    st.sampled_from(LONG_LIST_LENGTHS),
)
hostile_values: st.SearchStrategy[Any] = st.one_of(
    deep_values,
    huge_strings,
    strange_strings,
    st.sampled_from(EDGE_NUMBERS),
    long_lists,
    wire_json_values,
)
"""Anything a field might be given instead of what it expects."""

HOSTILE_ONE_IN = 16
"""A generated field holds a hostile value about once in this many draws (else a plausible one);
the whole params once in twice as many."""

PARAMS_OMITTED_ONE_IN = 20
"""A generated request has no `params` member about once in this many."""


@st.composite
def sometimes_hostile(
    draw: st.DrawFn, plausible: st.SearchStrategy[Any], one_in: int = HOSTILE_ONE_IN
) -> Any:
    """A `plausible` value, or about once in `one_in` draws a hostile one. (Not `one_of`, which
    merges identical branches and so cannot weigh them; not `flatmap`, which is slow.)"""
    if draw(st.sampled_from(range(one_in))) == one_in - 1:
        return draw(hostile_values)
    return draw(plausible)


# -- requests built from each method's params model ----------------------------------------------

MAX_SCHEMA_REFS = 4
"""How many nested `$ref`s a generated value follows (the params models are recursive)."""

THREAD_ID_FIELDS = frozenset(
    {
        "threadId",
        "ancestorThreadId",
        "parentThreadId",
        "attachedToThreadId",
        "excludedThreadIds",
        "turnId",
        "expectedTurnId",
        "lastTurnId",
        "beforeTurnId",
    }
)
PATH_FIELDS = frozenset({"cwd", "path", "writableRoots", "runtimeWorkspaceRoots"})


class ParamsGenerator:
    """Hypothesis strategies for the params of each method, from the pydantic params model's
    JSON schema: required fields always, optional ones sometimes, every value (at every level)
    sometimes replaced by a hostile one.

    `thread_ids` are threads that exist (so handlers get past "not found"); `paths` are
    plausible paths. `thread/delete` never gets an existing thread's id, so one example cannot
    empty the store for the rest of the run. `movable_ids` are threads only archive and
    unarchive are expected to move; they are read like any other id (a read racing a move is
    located again: tests/e2e/test_concurrent_moves.py)."""

    ONLY_UNKNOWN_IDS = frozenset({"thread/delete"})

    def __init__(
        self,
        thread_ids: Sequence[str],
        paths: Sequence[str],
        movable_ids: Sequence[str] = (),
    ) -> None:
        unknown = st.uuids().map(str) | st.sampled_from(EDGE_STRINGS)
        known = [*thread_ids, *movable_ids]
        self._ids = st.sampled_from(known) | unknown if known else unknown
        self._unknown_ids = unknown
        self._paths = st.sampled_from(list(paths)) | strange_strings

    def params(self, method: str) -> st.SearchStrategy[Any]:
        spec = CLIENT_REQUESTS[method]
        if spec.params is None:
            return st.none() | st.just({})
        schema = spec.params.model_json_schema(by_alias=True)
        ids = self._ids
        if method in self.ONLY_UNKNOWN_IDS:
            ids = self._unknown_ids
        return _SchemaWalk(schema.get("$defs", {}), ids, self._paths).value(schema, "", 0)

    def any_request(self, methods: Sequence[str]) -> st.SearchStrategy[dict[str, Any]]:
        """A request for one of `methods` (each built once: no strategy is made per draw)."""
        return st.one_of([self.requests(method) for method in methods])

    def requests(self, method: str) -> st.SearchStrategy[dict[str, Any]]:
        """A request (without its `id`) for `method`; its params sometimes hostile or absent."""
        whole = sometimes_hostile(self.params(method), HOSTILE_ONE_IN * 2)
        omitted = st.sampled_from(range(PARAMS_OMITTED_ONE_IN)).map(
            lambda roll: roll == PARAMS_OMITTED_ONE_IN - 1
        )
        return st.builds(_request, st.just(method), whole, omitted)


def _request(method: str, params: object, omit_params: bool) -> dict[str, Any]:
    return {"method": method} if omit_params else {"method": method, "params": params}


class _SchemaWalk:
    """Turns one JSON schema (pydantic's dialect) into a strategy, lazily at `$ref`s."""

    def __init__(
        self,
        definitions: dict[str, Any],
        ids: st.SearchStrategy[str],
        paths: st.SearchStrategy[str],
    ) -> None:
        self._definitions = definitions
        self._ids = ids
        self._paths = paths

    def value(self, node: dict[str, Any], name: str, refs: int) -> st.SearchStrategy[Any]:
        return sometimes_hostile(self._plausible(node, name, refs))

    def _plausible(self, node: dict[str, Any], name: str, refs: int) -> st.SearchStrategy[Any]:
        if "$ref" in node:
            if refs >= MAX_SCHEMA_REFS:
                return st.none()
            target = self._definitions[node["$ref"].rsplit("/", 1)[-1]]
            return st.deferred(lambda: self._plausible(target, name, refs + 1))
        if "const" in node:
            return st.just(node["const"])
        if "enum" in node:
            return st.sampled_from(node["enum"])
        alternatives = node.get("anyOf") or node.get("oneOf")
        if alternatives:
            return st.one_of([self._plausible(option, name, refs) for option in alternatives])
        kind = node.get("type")
        if kind == "string":
            return self._string(name)
        if kind == "integer":
            return st.integers(node.get("minimum", -(2**63)), node.get("maximum", 2**63 - 1))
        if kind == "number":
            return st.floats(allow_nan=False, allow_infinity=False)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        if kind == "array":
            items = node.get("items", {})
            return st.lists(self.value(items, name, refs), max_size=3)
        if kind == "object" or "properties" in node:
            return self._object(node, refs)
        return wire_json_values

    def _string(self, name: str) -> st.SearchStrategy[str]:
        if name in THREAD_ID_FIELDS:
            return self._ids
        if name in PATH_FIELDS:
            return self._paths
        return st.text(max_size=20)

    def _object(self, node: dict[str, Any], refs: int) -> st.SearchStrategy[Any]:
        properties: dict[str, Any] = node.get("properties", {})
        required = set(node.get("required", ()))
        if not properties:
            extra = node.get("additionalProperties", True)
            values = self.value(extra, "", refs) if isinstance(extra, dict) else wire_json_values
            return st.dictionaries(st.text(max_size=10), values, max_size=3)
        return st.fixed_dictionaries(
            {key: self.value(sub, key, refs) for key, sub in properties.items() if key in required},
            optional={
                key: self.value(sub, key, refs)
                for key, sub in properties.items()
                if key not in required
            },
        )
