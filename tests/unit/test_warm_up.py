"""The background warm-up builds what the first requests need, before they need it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.server_process import PROJECT_ROOT


def _run(code: str) -> object:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, check=True, text=True
    )
    return json.loads(out.stdout)


def test_warm_up_builds_every_hot_model_and_every_thread_item_variant() -> None:
    code = (
        "import asyncio, json\n"
        "from app_server import warm_up\n"
        "models = [*warm_up._item_variants(), *warm_up.HOT_MODELS]\n"
        "before = sum(m.__pydantic_complete__ for m in models)\n"
        "asyncio.run(warm_up.warm_up())\n"
        "print(json.dumps([before, len(models), sum(m.__pydantic_complete__ for m in models)]))"
    )
    counts = _run(code)
    assert isinstance(counts, list)
    before, total, after = counts
    assert before < total
    assert after == total


def test_warm_up_imports_the_provider_transports() -> None:
    code = (
        "import asyncio, json, sys\n"
        "from app_server import warm_up\n"
        "asyncio.run(warm_up.warm_up())\n"
        "print(json.dumps([m in sys.modules for m in warm_up.PROVIDER_MODULES]))"
    )
    assert _run(code) == [True, True]


def test_the_item_variants_are_the_members_of_the_thread_item_union() -> None:
    code = (
        "import json\n"
        "from app_server import warm_up\n"
        "print(json.dumps(sorted(m.__name__ for m in warm_up._item_variants())))"
    )
    names = _run(code)
    assert isinstance(names, list)
    assert "UserMessageThreadItem" in names
    assert "AgentMessageThreadItem" in names
    assert len(names) > 10
