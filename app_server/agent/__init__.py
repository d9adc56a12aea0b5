"""The agent: what a turn does (AGENT_LOOP.md) — request building, model providers, the stream
→ items mapping, tools, and the turn runner that drives them."""
