"""The pure parts of MCP support: server specs from config, what the model is offered and reads,
and codex's approval rule (shapes observed with codex 0.169)."""

from __future__ import annotations

import pytest

from app_server.agent.mcp.approval import approval_rule, form_schema
from app_server.agent.mcp.model_tools import (
    MAX_OUTPUT_TEXT_CHARS,
    TRUNCATED_MARKER,
    function_spec,
    result_output,
    result_value,
)
from app_server.agent.mcp.spec import McpSpecError, sanitize_name, server_spec, server_specs
from app_server.config.keys import McpServerToml
from app_server.rollout import core_items, legacy_items
from app_server.rollout.item_mapping import thread_item_from_core


def test_server_names_are_sanitized_as_codex_spells_namespaces() -> None:
    assert sanitize_name("my-srv.x") == "my_srv_x"


def test_a_stdio_server_gets_only_codexs_basic_variables_env_vars_and_env() -> None:
    environ = {"PATH": "/bin", "HOME": "/h", "SECRET": "s", "PASSED": "p", "OTHER": "o"}
    table = McpServerToml(command="srv", env={"EXTRA": "e"}, env_vars=["PASSED"])
    spec = server_spec("a", table, environ)
    assert dict(spec.env) == {"PATH": "/bin", "HOME": "/h", "PASSED": "p", "EXTRA": "e"}


def test_an_http_server_gets_its_bearer_token_and_env_headers() -> None:
    environ = {"TOKEN": "t", "KEY": "k"}
    table = McpServerToml(
        url="http://x/mcp",
        bearer_token_env_var="TOKEN",
        http_headers={"X-A": "a"},
        env_http_headers={"X-Key": "KEY"},
    )
    headers = dict(server_spec("a", table, environ).headers)
    assert headers == {"Authorization": "Bearer t", "X-A": "a", "X-Key": "k"}


def test_a_table_with_neither_command_nor_url_is_refused() -> None:
    with pytest.raises(McpSpecError):
        server_spec("a", McpServerToml(), {})


def test_disabled_servers_are_left_out() -> None:
    specs, problems = server_specs(
        {"on": McpServerToml(command="x"), "off": McpServerToml(command="x", enabled=False)}, {}
    )
    assert (list(specs), problems) == (["on"], {})


def test_enabled_then_disabled_tools_decide_what_is_offered() -> None:
    table = McpServerToml(command="x", enabled_tools=["a", "b"], disabled_tools=["b"])
    spec = server_spec("s", table, {})
    assert [spec.offers(t) for t in ("a", "b", "c")] == [True, False, False]


def test_a_tool_spec_drops_titles_but_keeps_a_property_named_title() -> None:
    tool = {
        "name": "t",
        "inputSchema": {
            "title": "tArguments",
            "type": "object",
            "properties": {"title": {"title": "Title", "type": "string"}},
        },
    }
    assert function_spec(tool)["parameters"] == {
        "type": "object",
        "properties": {"title": {"type": "string"}},
    }


def test_a_structured_result_is_one_string_of_compact_json() -> None:
    result = result_value(
        {"content": [{"type": "text", "text": "x"}], "structuredContent": {"a": 1}}
    )
    assert result_output(result, 0.00421) == 'Wall time: 0.0042 seconds\nOutput:\n{"a":1}'


def test_an_error_result_is_its_content_even_when_structured() -> None:
    result = result_value(
        {"content": [{"type": "text", "text": "bad"}], "structuredContent": {}, "isError": True}
    )
    assert result_output(result, 1.0) == [
        {"type": "input_text", "text": "Wall time: 1.0000 seconds\nOutput:"},
        {"type": "input_text", "text": "bad"},
    ]


def test_long_text_is_cut_to_the_output_limit() -> None:
    result = result_value(
        {"content": [{"type": "text", "text": "x" * (MAX_OUTPUT_TEXT_CHARS + 5)}]}
    )
    output = result_output(result, 0.0)
    assert isinstance(output, list)
    assert output[1]["text"].endswith(TRUNCATED_MARKER)
    assert len(output[1]["text"]) == MAX_OUTPUT_TEXT_CHARS + len(TRUNCATED_MARKER)


def test_the_core_item_is_written_in_codexs_key_order() -> None:
    result = result_value({"content": [], "structuredContent": {"r": 1}, "isError": False})
    item = core_items.mcp_tool_call("c", "s", "t", {}, True, result=result, seconds=1.5)
    assert list(item) == [
        "type",
        "id",
        "server",
        "tool",
        "arguments",
        "readOnlyHint",
        "status",
        "result",
        "duration",
    ]
    assert list(item["result"]) == ["content", "structuredContent", "isError"]
    assert item["duration"] == {"secs": 1, "nanos": 500_000_000}


@pytest.mark.parametrize(
    ("read_only", "policy", "full_access", "rule"),
    [
        (True, "never", False, "run"),
        (False, "never", True, "run"),
        (False, "never", False, "refuse"),
        (False, "on-request", True, "ask"),
        (False, "untrusted", False, "ask"),
    ],
)
def test_the_approval_rule_follows_codex(
    read_only: bool, policy: str, full_access: bool, rule: str
) -> None:
    assert approval_rule(read_only, policy, full_access) == rule


def test_a_forwarded_form_schema_keeps_only_what_the_protocol_allows() -> None:
    schema = {
        "title": "Confirm",
        "type": "object",
        "properties": {"ok": {"title": "Ok", "type": "boolean", "x-extra": 1}},
        "required": ["ok"],
    }
    assert form_schema(schema) == {
        "type": "object",
        "properties": {"ok": {"title": "Ok", "type": "boolean"}},
        "required": ["ok"],
    }


def test_a_legacy_thread_records_an_mcp_call_that_reads_back_as_the_same_item() -> None:
    result = result_value({"content": [{"type": "text", "text": "t"}], "isError": False})
    core = core_items.mcp_tool_call("c", "s", "t", {"a": 1}, False, result=result, seconds=0.25)
    event = core_items.legacy_mcp_tool_call(core)
    legacy = legacy_items.legacy_mcp_tool_call(dict(event), completed=True)
    current = thread_item_from_core(core, started_at_ms=1, completed_at_ms=2)
    assert legacy is not None
    assert current is not None
    fields = ("id", "server", "tool", "status", "arguments", "result", "duration_ms")
    assert {f: getattr(legacy, f) for f in fields} == {f: getattr(current, f) for f in fields}
