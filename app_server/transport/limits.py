"""Size limits shared by the transports (README, "Limits")."""

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""Largest incoming message (one stdio line or one WebSocket text frame) that is processed.

16 MiB leaves room for a few inline images in `turn/start`; a larger message is answered with
-32600 and skipped, and the connection stays open. Cost: one connection may buffer this much."""

WEBSOCKET_HARD_MAX_BYTES = 4 * MAX_MESSAGE_BYTES
"""A WebSocket frame above this is not even buffered: the connection is closed with 1009
(message too big), because the protocol cannot skip a frame without reading it."""

STDIO_READ_CHUNK_BYTES = 256 * 1024
"""How much is read from stdin at a time."""

MAX_NESTING_DEPTH = 64
"""Deepest nesting of arrays and objects an incoming message may have (the message itself is
level 1). A deeper message is answered with -32600 naming this limit and skipped; the connection
stays open.

What real messages need: codex 0.169.0's schema for client messages is at most 8 levels deep
(7 for the methods we serve, `turn/start` and `thread/resume`), counting the envelope, wherever it
is not free-form JSON; the deepest message in the codex fixtures is 9 levels. Free-form values
(`config`, `outputSchema`, dynamic tools' `inputSchema`) have no schema bound: 64 leaves them
about 60 levels, e.g. an `outputSchema` describing objects nested 28 deep.

Why a bound at all: validation, error messages and serialization walk values recursively in
places (pydantic, orjson's encoder stops at 255 levels, Python's recursion limit is 1000), so an
unbounded depth turns one message into a crash or a -32603. What it costs: a message with more
than 64 brackets is scanned once before it is parsed (`rpc.incoming.nests_too_deep`, C-speed
passes over its bytes): at most about as long as parsing it, 0.4 s for the worst 16 MiB message
on the dev machine, where orjson takes 0.2 to 3 s; other messages only have their brackets
counted."""


def too_large_message(size: int) -> str:
    """The error text for an oversized message."""
    return (
        f"Invalid request: message of {size} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit "
        "and was ignored"
    )
