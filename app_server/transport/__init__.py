"""Transports move message text in and out; they know nothing of methods (stdio, WebSocket)."""
