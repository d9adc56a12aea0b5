"""Unit tests of pure parts (framing, parsing, dispatch, config)."""
