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


def test_building_first_then_warming_up_builds_every_listed_model_and_thread_item_variant() -> None:
    code = (
        "import asyncio, json\n"
        "from app_server import warm_up\n"
        "models = [*warm_up._item_variants(), *warm_up.FIRST_MODELS, *warm_up.HOT_MODELS]\n"
        "before = sum(m.__pydantic_complete__ for m in models)\n"
        "warm_up.build_first()\n"
        "asyncio.run(warm_up.warm_up(asyncio.sleep))\n"
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
        "asyncio.run(warm_up.warm_up(asyncio.sleep))\n"
        "print(json.dumps([m in sys.modules for m in warm_up.PROVIDER_MODULES]))"
    )
    assert _run(code) == [True, True]


def test_warm_up_imports_what_httpx_imports_on_its_first_client_and_request() -> None:
    code = (
        "import asyncio, json, sys\n"
        "from app_server import warm_up\n"
        "asyncio.run(warm_up.warm_up(asyncio.sleep))\n"
        "stack = ('httpcore', 'h11', 'anyio._backends._asyncio')\n"
        "print(json.dumps([m in sys.modules for m in stack]))"
    )
    assert _run(code) == [True, True, True]


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


def test_warm_up_builds_nothing_while_a_request_is_being_served() -> None:
    code = (
        "import asyncio, json\n"
        "from app_server import warm_up\n"
        "async def main():\n"
        "    idle = asyncio.Event()\n"
        "    async def until_quiet(seconds):\n"
        "        await idle.wait()\n"
        "    task = asyncio.create_task(warm_up.warm_up(until_quiet))\n"
        "    await asyncio.sleep(0.2)\n"
        "    busy = warm_up.HOT_MODELS[0].__pydantic_complete__\n"
        "    idle.set()\n"
        "    await task\n"
        "    return [busy, warm_up.HOT_MODELS[0].__pydantic_complete__]\n"
        "print(json.dumps(asyncio.run(main())))"
    )
    assert _run(code) == [False, True]


def test_the_collector_is_back_on_once_the_warm_up_is_done() -> None:
    code = (
        "import asyncio, gc, json\n"
        "from app_server import warm_up\n"
        "warm_up.warm_up_steps = lambda: iter([lambda: None])\n"
        "gc.disable()\n"
        "asyncio.run(warm_up.warm_up(asyncio.sleep))\n"
        "print(json.dumps(gc.isenabled()))"
    )
    assert _run(code) is True


def test_the_collector_stays_off_while_the_warm_up_waits_for_a_pause() -> None:
    code = (
        "import asyncio, gc, json\n"
        "from app_server import warm_up\n"
        "async def main():\n"
        "    busy = asyncio.Event()\n"
        "    async def never_quiet(seconds):\n"
        "        await busy.wait()\n"
        "    task = asyncio.create_task(warm_up.warm_up(never_quiet))\n"
        "    await asyncio.sleep(0.2)\n"
        "    off = not gc.isenabled()\n"
        "    task.cancel()\n"
        "    await asyncio.gather(task, return_exceptions=True)\n"
        "    return [off, gc.isenabled()]\n"
        "gc.disable()\n"
        "print(json.dumps(asyncio.run(main())))"
    )
    assert _run(code) == [True, True]


def test_the_collector_is_back_on_after_the_limit_when_requests_never_pause() -> None:
    code = (
        "import asyncio, gc, json\n"
        "from app_server import warm_up\n"
        "warm_up.COLLECTOR_PAUSE_LIMIT_SECONDS = 0.05\n"
        "async def main():\n"
        "    busy = asyncio.Event()\n"
        "    async def never_quiet(seconds):\n"
        "        await busy.wait()\n"
        "    task = asyncio.create_task(warm_up.warm_up(never_quiet))\n"
        "    await asyncio.sleep(0.3)\n"
        "    on = gc.isenabled()\n"
        "    task.cancel()\n"
        "    await asyncio.gather(task, return_exceptions=True)\n"
        "    return on\n"
        "gc.disable()\n"
        "print(json.dumps(asyncio.run(main())))"
    )
    assert _run(code) is True
