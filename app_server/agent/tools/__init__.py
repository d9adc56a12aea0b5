"""Tools the model may call, behind one registry (AGENT_LOOP.md §5)."""
