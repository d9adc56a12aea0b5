"""A JSON-RPC app-server wire-compatible with Codex's app-server protocol (v2, codex 0.169.0).

Layers, top to bottom (nothing imports upward): `transport` (stdio, WebSocket) → `rpc`
(connections, dispatcher, error mapping) → `api` (thin method handlers) → thread manager, agent
and store. `protocol` (a sibling package) holds the typed wire messages.
"""

__version__ = "0.1.0"

PROTOCOL_VERSION = "0.169.0"
"""The codex app-server release whose protocol (v2) and on-disk format this server speaks."""
