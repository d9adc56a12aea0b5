"""Differential check against codex 0.169.0 (`scripts/compare_with_codex.py`): peers, steps,
shapes and scenarios, one concept per module."""
