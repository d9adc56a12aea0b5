"""Typed messages of the Codex app-server protocol (v2, codex 0.169.0); no I/O here.

- `protocol.types`: every wire type in scope, generated from the upstream JSON Schema.
- `protocol.methods`: which params/result types belong to which method, and which are experimental.
- `protocol.jsonrpc`: the JSON-RPC envelope (without the `jsonrpc` member, as 0.169 speaks it).
- `protocol.wire_model`: the shared base class (camelCase aliases, experimental-field filtering).
"""
