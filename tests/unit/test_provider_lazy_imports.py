"""The HTTP stack is imported with the first provider, not with the provider factory.

`app_server.server` imports the factory at startup; `httpx` (~65 ms) — let alone the `openai`
SDK (~450 ms) — would then be paid by every process before `initialize` (issue 17) even if it
never samples a model. A fresh interpreter is the only honest place to look at `sys.modules`.
"""

from __future__ import annotations

import json
import subprocess
import sys

HTTP_MODULES = ("httpx", "httpx_sse", "openai", "httpx2")


def test_importing_the_provider_factory_imports_no_http_client() -> None:
    probe = (
        "import json, sys\n"
        "import app_server.agent.providers.factory\n"
        f"print(json.dumps(sorted(m for m in {HTTP_MODULES!r} if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout) == []


def test_the_provider_transport_leaves_out_the_httpx_command_line_tool() -> None:
    probe = (
        "import json, sys\n"
        "import app_server.agent.providers.sse_transport\n"
        "import httpx\n"
        "print(json.dumps([sorted(m for m in ('click', 'pygments') if m in sys.modules),\n"
        "                  callable(httpx.main)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout) == [[], True]
