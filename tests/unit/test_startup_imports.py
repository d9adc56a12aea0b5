"""What answers a stdio client's `initialize` imports nothing heavy (`app_server.startup`): the
model SDK and HTTP clients, pydantic and the protocol models, SQLite, the server proper."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.support.server_process import PROJECT_ROOT


def printed_json(code: str) -> Any:
    """What `code`, run by a fresh interpreter in the project, prints as JSON."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, check=True, text=True
    )
    return json.loads(out.stdout)


HEAVY = (
    "openai",
    "httpx",
    "httpx2",
    "httpx_sse",
    "pydantic",
    "pydantic_core",
    "protocol.types",
    "sqlite3",
    "websockets",
    "app_server.server",
    "app_server.store",
    "app_server.threads",
    "app_server.agent.providers",
    "mcp",
    "app_server.agent.mcp",
)


@pytest.mark.parametrize(
    "module",
    ["app_server.launch", "app_server.early_probe", "app_server.cli", "app_server.startup"],
)
def test_the_initialize_path_imports_nothing_heavy(module: str) -> None:
    code = (
        f"import sys, json, {module}\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m in {HEAVY!r})))"
    )
    assert printed_json(code) == []


SERVER_NEEDS_LATER = ("httpx", "tomlkit", "websockets", "difflib")
"""Loaded by the warm-up (`httpx`) or on first use (config writes, the WebSocket listener,
applying a patch), never by importing the server proper."""


def test_the_server_proper_leaves_what_the_first_requests_do_not_need() -> None:
    code = (
        "import sys, json, app_server.server\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m in {SERVER_NEEDS_LATER!r})))"
    )
    assert printed_json(code) == []


FIRST_TURN_SKIPS = (
    "app_server.api.fs",
    "app_server.api.processes",
    "app_server.api.command_exec",
    "app_server.api.fuzzy_file_search",
    "app_server.api.mcp",
    "app_server.api.thread_queue",
    "app_server.api.config_write",
    "app_server.api.skills",
    "app_server.workspace_fs.watches",
    "app_server.file_search.index",
    "protocol.models.fs_read_file_params",
    "protocol.models.command_exec_params",
    "protocol.models.process_spawn_params",
    "protocol.models.thread_queue_add_params",
    "protocol.models.thread_archive_params",
    "protocol.models.thread_resume_response",
    "protocol.models.thread_read_response",
    "protocol.models.thread_search_response",
    "protocol.models.thread_turns_list_response",
    "protocol.models.thread_items_list_response",
    "protocol.models.thread_goal_updated_notification",
    "protocol.models.thread_archived_notification",
    "protocol.models.thread_closed_notification",
    "protocol.models.thread_compact_start_params",
    "protocol.models.thread_shell_command_params",
    "protocol.models.turn_steer_params",
    "protocol.models.turn_interrupt_params",
    "protocol.models.command_execution_approval_decision",
    "protocol.models.command_execution_output_delta_notification",
    "protocol.models.config_warning_notification",
    "protocol.models.error_notification",
    "protocol.models.file_change_output_delta_notification",
    "protocol.models.file_change_request_approval_params",
    "protocol.models.initialize_response",
    "protocol.models.mcp_server_status_updated_notification",
    "protocol.models.model_safety_buffering_updated_notification",
    "protocol.models.plan_delta_notification",
    "protocol.models.reasoning_summary_part_added_notification",
    "protocol.models.reasoning_summary_text_delta_notification",
    "protocol.models.reasoning_text_delta_notification",
    "protocol.models.review_start_params",
    "protocol.models.server_request_resolved_notification",
    "protocol.models.terminal_interaction_notification",
    "protocol.models.thread_settings_updated_notification",
    "protocol.models.turn_diff_updated_notification",
    "protocol.models.turn_moderation_metadata_notification",
    "protocol.models.turn_plan_updated_notification",
    "importlib.metadata",
)
"""What a session's first requests (`thread/start`, `turn/start`) do not use: the handler
groups of other methods are built on their first request (`app_server.handler_table`), with the
wire models they name (`protocol.types` loads a model's module on first use; the handlers and
helpers built with the server reach the models of other methods through it at run time), and
pydantic's plugin discovery, which imports `importlib.metadata`, is skipped
(`app_server.pydantic_plugins`)."""


def test_the_server_proper_leaves_what_a_first_turn_does_not_use() -> None:
    code = (
        "import sys, json\n"
        "from app_server.pydantic_plugins import skip_discovery\n"
        "skip_discovery()\n"
        "import app_server.server\n"
        "from app_server.warm_up import build_first\n"
        "build_first()\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m in {FIRST_TURN_SKIPS!r})))"
    )
    assert printed_json(code) == []


def test_the_protocol_index_creates_no_model_until_one_is_asked_for() -> None:
    code = (
        "import sys, json, protocol.types, protocol.methods\n"
        "before = sorted(m for m in sys.modules if m.startswith('protocol.models.'))\n"
        "protocol.methods.CLIENT_REQUESTS['fs/readFile'].params\n"
        "after = sorted(m for m in sys.modules if m.startswith('protocol.models.'))\n"
        "print(json.dumps([before, after]))"
    )
    before, after = printed_json(code)
    assert before == []
    assert "protocol.models.fs_read_file_params" in after
    assert "protocol.models.thread" not in after


def test_validating_a_model_in_the_server_process_skips_plugin_discovery() -> None:
    code = (
        "import sys, json\n"
        "from app_server.pydantic_plugins import skip_discovery\n"
        "skip_discovery()\n"
        "from protocol.types import ThreadStartParams\n"
        "ThreadStartParams.model_validate({'cwd': '/tmp'})\n"
        "print(json.dumps('importlib.metadata' in sys.modules))"
    )
    assert printed_json(code) is False


def test_importing_the_server_proper_builds_no_validator() -> None:
    code = (
        "import sys, json\n"
        "from pydantic import BaseModel, TypeAdapter\n"
        "from protocol.wire_model import WireModel\n"
        "import app_server.server\n"
        "built = []\n"
        "for name, module in sorted(sys.modules.items()):\n"
        "    if not name.startswith('app_server'):\n"
        "        continue\n"
        "    for attr, value in vars(module).items():\n"
        "        if isinstance(value, TypeAdapter) and value.pydantic_complete:\n"
        "            built.append(f'{name}.{attr}')\n"
        "        elif (isinstance(value, type) and issubclass(value, BaseModel)\n"
        "              and value.__module__ == name and value.__pydantic_complete__):\n"
        "            built.append(f'{name}.{attr}')\n"
        "def protocol_models(cls):\n"
        "    for sub in cls.__subclasses__():\n"
        "        yield sub\n"
        "        yield from protocol_models(sub)\n"
        "built += sorted({model.__qualname__ for model in protocol_models(WireModel)\n"
        "                 if model.__dict__.get('__pydantic_complete__')})\n"
        "print(json.dumps(built))"
    )
    assert printed_json(code) == []


def test_validating_a_config_builds_no_table_validator() -> None:
    code = (
        "import json\n"
        "from app_server.config.keys import ConfigTable\n"
        "from app_server.config.validation import validate_config\n"
        "result = validate_config({\n"
        "    'model': 'm', 'model_provider': 'p', 'approval_policy': 'never',\n"
        "    'model_providers': {'p': {'name': 'P', 'base_url': 'http://127.0.0.1:1/v1'}},\n"
        "    'models': ['a', {'id': 'b', 'reasoning_efforts': ['low']}],\n"
        "    'sandbox_workspace_write': {'network_access': True},\n"
        "    'mcp_servers': {'s': {'command': 'x'}}, 'features': {'multi_agent': False},\n"
        "})\n"
        "assert not result.invalid, result.invalid\n"
        "tables = [ConfigTable, *ConfigTable.__subclasses__()]\n"
        "print(json.dumps([t.__name__ for t in tables if t.__pydantic_complete__]))"
    )
    assert printed_json(code) == []
