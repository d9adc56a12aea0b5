"""MCP servers: the agent uses tools from Model Context Protocol servers, as codex does.

Modules, one concept each:
- `spec`: a `[mcp_servers.NAME]` table turned into a launch spec (pure; no SDK import);
- `model_tools`: how a server's tools are offered to the model and how results go back (pure);
- `connection`: one running server on the official `mcp` SDK (stdio or streamable HTTP);
- `manager`: every server of the config, started in the background, shared by threads;
- `tools`: the registry tools a turn gets (one namespace per server, and the resource tools);
- `approval`: codex's approval rules for MCP tool calls.

Importing this package (and `spec`, `model_tools`, `manager`) never imports the SDK: `manager`
loads `connection` in a worker thread once the server runs, so `initialize` never waits for it.
"""
