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


def too_large_message(size: int) -> str:
    """The error text for an oversized message."""
    return (
        f"Invalid request: message of {size} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit "
        "and was ignored"
    )
