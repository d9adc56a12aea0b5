"""`TurnRecorder`, record by record: the rollout lines a turn writes (STORAGE.md §3.4, §3.5).

The recorder decides *what* a turn writes: its opening lines, each finished item (a paginated
`item_completed` line or the legacy events, then the model-visible `response_item`; the other
way round for a user message), tool
outputs, inter-agent messages, token records, compactions and the closing lines of a completed,
failed or interrupted turn. A fake writer keeps what was appended; ids and the environment are
fixed so every line can be compared whole.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Sequence
from typing import Any

import msgspec
import orjson
import pytest

from app_server.agent import harness_context, instructions, inter_agent, turn_recorder
from app_server.agent.compaction import Summary
from app_server.agent.inter_agent import InterAgentMessage, SubAgentNotification
from app_server.agent.providers.base import ModelProvider
from app_server.agent.stream_mapper import ResponseCompleted
from app_server.agent.token_usage import TokenTotals
from app_server.agent.tools.registry import ToolCall, ToolItem, ToolRegistry
from app_server.agent.tools.workspace import ThreadWorkspace
from app_server.agent.turn_recorder import TurnRecorder
from app_server.agent.turn_setup import TurnSetup
from app_server.rollout import core_items
from app_server.rollout.context_windows import ContextWindow
from app_server.rollout.events import LegacyToolEvent
from app_server.rollout.lines import JsonObject, RolloutLine, WorldStatePayload
from app_server.rollout.model_history import ModelHistory
from app_server.rollout.turn_lifecycle import TURN_ABORTED_NOTICE
from app_server.rollout.world_state import WorldState
from app_server.settings import ResolvedSettings
from protocol.types import (
    AgentMessageThreadItem,
    GranularAskForApproval,
    GranularAskForApprovalPayload,
    ImageUserInput,
    LocalImageUserInput,
    MessagePhase,
    ReadOnlySandboxPolicy,
    ReasoningThreadItem,
    TextUserInput,
    TurnError,
    UserMessageThreadItem,
    WorkspaceWriteSandboxPolicy,
)

THREAD = "thread-1"
TURN = "turn-2"
ROOT = "turn-1"
STARTED_AT = 1_795_544_471
WINDOW = 258_400
CWD = "/work/project"
DATE = "2026-11-24"
TAG = {"internal_chat_message_metadata_passthrough": {"turn_id": TURN}}
"""What every `response_item` of the turn carries besides the model item."""

SETTINGS = ResolvedSettings(
    model="gpt-test",
    model_provider="mock",
    cwd=CWD,
    approval_policy="on-request",
    approvals_reviewer="user",
    sandbox=ReadOnlySandboxPolicy(),
    reasoning_effort="low",
    reasoning_summary="auto",
)


class FakeWriter:
    """A `ThreadWriter` that keeps every appended line, in order (as JSON objects, to compare
    them whole with what codex writes)."""

    def __init__(self) -> None:
        self.lines: list[JsonObject] = []
        self.flushes = 0
        self.syncs = 0
        self.sync_error: OSError | None = None

    @property
    def thread_id(self) -> str:
        return THREAD

    @property
    def next_ordinal(self) -> int | None:
        return None

    @property
    def byte_size(self) -> int:
        return 0

    def append(self, lines: Sequence[RolloutLine]) -> None:
        self.lines.extend(lines)

    async def flush(self) -> None:
        self.flushes += 1

    async def sync(self) -> None:
        self.syncs += 1
        if self.sync_error is not None:
            raise self.sync_error

    async def close(self) -> None:
        pass


def no_provider() -> ModelProvider:
    raise AssertionError("the recorder never samples")


def make_setup(
    writer: FakeWriter | None,
    *,
    history_mode: str = "paginated",
    first_turn: bool = True,
    settings: ResolvedSettings = SETTINGS,
    history: ModelHistory | None = None,
    **fields: Any,
) -> TurnSetup:
    return TurnSetup(
        turn_id=TURN,
        root_turn_id=ROOT,
        settings=settings,
        history_mode=history_mode,
        writer=writer,
        history=history or ModelHistory(window=ContextWindow.initial("window-0")),
        tokens=TokenTotals(),
        tools=ToolRegistry(),
        workspace=ThreadWorkspace(bwrap=None),
        provider=no_provider,
        originator="test-client",
        instructions="You are a test.",
        first_turn=first_turn,
        context_window=WINDOW,
        **fields,
    )


@pytest.fixture(autouse=True)
def fixed_world(monkeypatch: pytest.MonkeyPatch) -> None:
    """One shell, time zone and date, and readable ids (`id-1`, `id-2`…)."""
    monkeypatch.setenv("SHELL", "/bin/zsh")
    monkeypatch.setenv("TZ", "Etc/UTC")
    for module in (instructions, harness_context):
        monkeypatch.setattr(module, "current_date", lambda: DATE)
    counter = itertools.count(1)
    for module in (harness_context, turn_recorder, inter_agent):
        monkeypatch.setattr(module, "uuid7", lambda: f"id-{next(counter)}")


@pytest.fixture
def writer() -> FakeWriter:
    return FakeWriter()


@pytest.fixture
def setup(writer: FakeWriter) -> TurnSetup:
    return make_setup(writer)


@pytest.fixture
def recorder(setup: TurnSetup) -> TurnRecorder:
    return TurnRecorder(setup, THREAD, STARTED_AT)


def legacy_recorder(writer: FakeWriter) -> TurnRecorder:
    return TurnRecorder(make_setup(writer, history_mode="legacy"), THREAD, STARTED_AT)


# -- expected lines ------------------------------------------------------------------------------
def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": "event_msg", "payload": {"type": kind, **fields}}


def response_item(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response_item", "payload": {**item, **TAG}}


def item_completed(core: JsonObject, started: int, completed: int) -> dict[str, Any]:
    return event(
        "item_completed",
        thread_id=THREAD,
        turn_id=TURN,
        item=core,
        started_at_ms=started,
        completed_at_ms=completed,
    )


def input_message(item_id: str, role: str, text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "role": role,
        "content": [{"type": "input_text", "text": text}],
    }


def environment_context(cwd: str) -> str:
    return (
        "<environment_context>\n"
        f"  <cwd>{cwd}</cwd>\n"
        "  <shell>zsh</shell>\n"
        f"  <current_date>{DATE}</current_date>\n"
        "  <timezone>Etc/UTC</timezone>\n"
        "</environment_context>"
    )


def permissions(settings: ResolvedSettings) -> str:
    return instructions.permissions_text(settings.sandbox, settings.approval_policy)


def world(settings: ResolvedSettings) -> dict[str, Any]:
    return {
        "environment": {
            "cwd": settings.cwd,
            "shell": "zsh",
            "current_date": DATE,
            "timezone": "Etc/UTC",
        },
        "permissions": hashlib.sha1(permissions(settings).encode()).hexdigest(),
    }


def task_started(**attribution: Any) -> dict[str, Any]:
    return event(
        "task_started",
        turn_attribution={
            "turn_id": TURN,
            "turn_trigger": None,
            "parent_turn_id": attribution.get("parent_turn_id"),
            "initiating_agent_path": attribution.get("initiating_agent_path"),
            "root_turn_id": ROOT,
        },
        turn_id=TURN,
        root_turn_id=ROOT,
        started_at=STARTED_AT,
        model_context_window=WINDOW,
        collaboration_mode_kind="default",
    )


def turn_context(settings: ResolvedSettings = SETTINGS) -> dict[str, Any]:
    return {
        "type": "turn_context",
        "payload": {
            "turn_id": TURN,
            "root_turn_id": ROOT,
            "disabled_plugin_ids": [],
            "cwd": settings.cwd,
            "approval_policy": "on-request",
            "approvals_reviewer": "user",
            "model": "gpt-test",
            "collaboration_mode": {
                "mode": "default",
                "settings": {
                    "model": "gpt-test",
                    "reasoning_effort": "low",
                    "developer_instructions": None,
                },
            },
            "realtime_active": False,
            "summary": "auto",
            "sandbox_policy": {"type": "read-only"},
        },
    }


def agent_message(
    item_id: str, text: str, phase: MessagePhase | None = None
) -> AgentMessageThreadItem:
    return AgentMessageThreadItem(id=item_id, text=text, phase=phase)


def assistant_output(item_id: str, text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def user_message(*content: Any, client_id: str | None = None) -> UserMessageThreadItem:
    return UserMessageThreadItem(id="user-1", content=list(content), client_id=client_id)


def exec_call(call_id: str = "call_1") -> ToolCall:
    return ToolCall.from_item(
        {"type": "function_call", "call_id": call_id, "name": "exec_command", "arguments": "{}"}
    )


# -- opening -------------------------------------------------------------------------------------
def test_the_first_turn_opens_with_task_started_context_world_state_turn_context_and_settings(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    recorder.opening()
    assert writer.lines == [
        task_started(),
        response_item(input_message("msg_id-1", "developer", permissions(SETTINGS))),
        response_item(input_message("msg_id-2", "user", environment_context(CWD))),
        {"type": "world_state", "payload": {"full": True, "state": world(SETTINGS)}},
        turn_context(),
        event(
            "thread_settings_applied",
            thread_id=THREAD,
            thread_settings={
                "model": "gpt-test",
                "model_provider_id": "mock",
                "approval_policy": "on-request",
                "approvals_reviewer": "user",
                "requested_approvals_reviewer": "user",
                "cwd": CWD,
                "runtime_workspace_roots": [CWD],
                "reasoning_effort": "low",  # codex 0.169 writes it when the effort is set
                "collaboration_mode": {
                    "mode": "default",
                    "settings": {
                        "model": "gpt-test",
                        "reasoning_effort": "low",
                        "developer_instructions": None,
                    },
                },
                "disabled_plugin_ids": [],
            },
        ),
    ]


def test_the_first_turn_context_joins_the_model_history_without_the_turn_tag(
    recorder: TurnRecorder, setup: TurnSetup
) -> None:
    recorder.opening()
    assert setup.model_history == [
        input_message("msg_id-1", "developer", permissions(SETTINGS)),
        input_message("msg_id-2", "user", environment_context(CWD)),
    ]
    assert setup.history.world_state.state == world(SETTINGS)


def test_a_later_turn_in_an_unchanged_environment_writes_only_task_started_and_turn_context(
    writer: FakeWriter,
) -> None:
    history = ModelHistory(world_state=WorldState(world(SETTINGS)))
    setup = make_setup(writer, first_turn=False, history=history)
    TurnRecorder(setup, THREAD, STARTED_AT).opening()
    assert writer.lines == [task_started(), turn_context()]
    assert setup.model_history == []


def test_a_later_turn_in_another_directory_tells_the_model_and_records_a_world_state_patch(
    writer: FakeWriter,
) -> None:
    moved = msgspec.structs.replace(SETTINGS, cwd="/work/other")
    history = ModelHistory(world_state=WorldState(world(SETTINGS)))
    setup = make_setup(writer, first_turn=False, history=history, settings=moved)
    TurnRecorder(setup, THREAD, STARTED_AT).opening()
    update = input_message("msg_id-1", "user", environment_context("/work/other"))
    assert writer.lines == [
        task_started(),
        response_item(update),
        {
            "type": "world_state",
            "payload": {"full": False, "state": {"environment": {"cwd": "/work/other"}}},
        },
        turn_context(moved),
    ]
    assert setup.model_history == [update]


def test_a_later_turn_with_other_permissions_tells_the_model_in_a_developer_message(
    writer: FakeWriter,
) -> None:
    never = msgspec.structs.replace(SETTINGS, approval_policy="never")
    history = ModelHistory(world_state=WorldState(world(SETTINGS)))
    setup = make_setup(writer, first_turn=False, history=history, settings=never)
    TurnRecorder(setup, THREAD, STARTED_AT).opening()
    update = input_message("msg_id-1", "developer", permissions(never))
    patch = {"permissions": world(never)["permissions"]}
    assert writer.lines[1:3] == [
        response_item(update),
        {"type": "world_state", "payload": {"full": False, "state": patch}},
    ]


def test_a_world_state_another_program_recorded_is_replaced_by_a_snapshot_without_messages(
    writer: FakeWriter,
) -> None:
    history = ModelHistory(world_state=WorldState({"codex_specific": {"x": 1}}))
    setup = make_setup(writer, first_turn=False, history=history)
    TurnRecorder(setup, THREAD, STARTED_AT).opening()
    assert writer.lines == [
        task_started(),
        {"type": "world_state", "payload": {"full": True, "state": world(SETTINGS)}},
        turn_context(),
    ]
    assert setup.model_history == []


def test_a_sub_agent_turn_names_its_parent_turn_and_agent_in_task_started(
    writer: FakeWriter,
) -> None:
    setup = make_setup(
        writer, parent_turn_id="parent-turn", initiating_agent_path="/root/helper_task"
    )
    TurnRecorder(setup, THREAD, STARTED_AT).opening()
    assert writer.lines[0] == task_started(
        parent_turn_id="parent-turn", initiating_agent_path="/root/helper_task"
    )


def test_a_granular_approval_policy_is_recorded_as_its_json_object(writer: FakeWriter) -> None:
    granular = GranularAskForApproval(
        granular=GranularAskForApprovalPayload(
            mcp_elicitations=True, rules=False, sandbox_approval=True
        )
    )
    settings = msgspec.structs.replace(SETTINGS, approval_policy=granular)
    TurnRecorder(make_setup(writer, settings=settings), THREAD, STARTED_AT).opening()
    expected = {
        "granular": {
            "mcp_elicitations": True,
            "request_permissions": False,
            "rules": False,
            "sandbox_approval": True,
            "skill_approval": False,
        }
    }
    context = next(line for line in writer.lines if line["type"] == "turn_context")
    applied = writer.lines[-1]["payload"]["thread_settings"]
    assert (context["payload"]["approval_policy"], applied["approval_policy"]) == (
        expected,
        expected,
    )


def test_turn_context_records_the_sandbox_in_codex_disk_spelling(writer: FakeWriter) -> None:
    sandbox = WorkspaceWriteSandboxPolicy(writable_roots=["/data"], network_access=True)
    settings = msgspec.structs.replace(SETTINGS, sandbox=sandbox)
    TurnRecorder(make_setup(writer, settings=settings), THREAD, STARTED_AT).opening()
    context = next(line for line in writer.lines if line["type"] == "turn_context")
    assert context["payload"]["sandbox_policy"] == {
        "type": "workspace-write",
        "writable_roots": ["/data"],
        "network_access": True,
        "exclude_tmpdir_env_var": False,
        "exclude_slash_tmp": False,
    }


def test_turn_context_without_a_reasoning_summary_setting_records_none(
    writer: FakeWriter,
) -> None:
    settings = msgspec.structs.replace(SETTINGS, reasoning_summary=None, reasoning_effort=None)
    TurnRecorder(make_setup(writer, settings=settings), THREAD, STARTED_AT).opening()
    context = next(line for line in writer.lines if line["type"] == "turn_context")
    assert context["payload"]["summary"] == "none"
    assert context["payload"]["collaboration_mode"]["settings"]["reasoning_effort"] is None


# -- finished items ------------------------------------------------------------------------------
def test_the_recorder_writes_item_completed_lines_with_the_turn_id_then_the_response_item(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    output = assistant_output("msg_1", "Hello")
    recorder.finished(output, agent_message("msg_1", "Hello", "final_answer"), 1_000, 1_250)
    assert writer.lines == [
        item_completed(
            {
                "type": "AgentMessage",
                "id": "msg_1",
                "content": [{"type": "Text", "text": "Hello"}],
                "phase": "final_answer",
            },
            1_000,
            1_250,
        ),
        response_item(output),
    ]


def test_a_paginated_user_message_is_a_core_user_message_with_its_inputs_and_client_id(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    model_item = input_message("msg_u", "user", "hi")
    item = user_message(
        TextUserInput(text="hi"), ImageUserInput(url="https://x/cat.png"), client_id="c-1"
    )
    recorder.finished(model_item, item, 10, 11)
    assert writer.lines[0] == response_item(model_item)  # history first, as codex writes it
    assert writer.lines[1] == item_completed(
        {
            "type": "UserMessage",
            "id": "user-1",
            "content": [
                {"type": "text", "text": "hi", "text_elements": []},
                {"type": "image", "image_url": "https://x/cat.png"},
            ],
            "client_id": "c-1",
        },
        10,
        11,
    )


def test_a_paginated_reasoning_item_keeps_its_summary_and_raw_content(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    model_item = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "e"}
    item = ReasoningThreadItem(id="rs_1", summary=["first", "then"], content=["raw"])
    recorder.finished(model_item, item, 5, 6)
    assert writer.lines == [
        item_completed(
            {
                "type": "Reasoning",
                "id": "rs_1",
                "summary_text": ["first", "then"],
                "raw_content": ["raw"],
            },
            5,
            6,
        ),
        response_item(model_item),
    ]


def test_a_finished_item_joins_the_model_history_without_the_turn_tag(
    recorder: TurnRecorder, setup: TurnSetup
) -> None:
    output = assistant_output("msg_1", "Hello")
    recorder.finished({**output, **TAG}, agent_message("msg_1", "Hello"), 1, 2)
    assert setup.model_history == [output]


def test_an_output_item_without_a_thread_item_writes_only_its_response_item(
    recorder: TurnRecorder, writer: FakeWriter, setup: TurnSetup
) -> None:
    call = {"type": "function_call", "call_id": "call_1", "name": "exec_command", "arguments": ""}
    recorder.finished(call, None, 1, 2)
    assert writer.lines == [response_item(call)]
    assert setup.model_history == [call]


def test_a_legacy_user_message_is_a_user_message_event_with_its_text(
    writer: FakeWriter,
) -> None:
    item = user_message(TextUserInput(text="first"), TextUserInput(text="second"))
    model_item = input_message("msg_u", "user", "first")
    legacy_recorder(writer).finished(model_item, item, 1, 2)
    assert writer.lines == [  # history first, as codex 0.169 writes it (fixtures' rollouts)
        response_item(model_item),
        event(
            "user_message",
            message="first\nsecond",
            images=[],
            local_images=[],
            audio=[],
            local_audio=[],
            text_elements=[],
        ),
    ]


def test_a_legacy_user_message_keeps_its_images_and_local_images(writer: FakeWriter) -> None:
    """The legacy reader rebuilds a user message's images from these two lists."""
    item = user_message(
        TextUserInput(text="look"),
        ImageUserInput(url="https://x/cat.png"),
        LocalImageUserInput(path="dog.png"),
    )
    legacy_recorder(writer).finished(input_message("msg_u", "user", "look"), item, 1, 2)
    payload = writer.lines[1]["payload"]
    assert (payload["images"], payload["local_images"]) == (["https://x/cat.png"], ["dog.png"])


def test_a_legacy_agent_message_is_an_agent_message_event_with_its_phase(
    writer: FakeWriter,
) -> None:
    output = assistant_output("msg_1", "Hello")
    legacy_recorder(writer).finished(output, agent_message("msg_1", "Hello", "commentary"), 1, 2)
    assert writer.lines == [
        event("agent_message", message="Hello", phase="commentary", memory_citation=None),
        response_item(output),
    ]


def test_a_legacy_reasoning_item_writes_one_agent_reasoning_event_per_summary_part(
    writer: FakeWriter,
) -> None:
    model_item = {"type": "reasoning", "id": "rs_1", "summary": []}
    item = ReasoningThreadItem(id="rs_1", summary=["first", "then"], content=["raw"])
    legacy_recorder(writer).finished(model_item, item, 1, 2)
    assert writer.lines == [
        event("agent_reasoning", text="first"),
        event("agent_reasoning", text="then"),
        response_item(model_item),
    ]


def test_a_legacy_reasoning_item_without_a_summary_writes_only_its_response_item(
    writer: FakeWriter,
) -> None:
    model_item = {"type": "reasoning", "id": "rs_1", "summary": []}
    item = ReasoningThreadItem(id="rs_1", summary=[], content=[])
    legacy_recorder(writer).finished(model_item, item, 1, 2)
    assert writer.lines == [response_item(model_item)]


# -- tool results --------------------------------------------------------------------------------
COMMAND_CORE = core_items.command_execution(
    "call_1", argv=["true"], cwd=CWD, parsed_cmd=[], source="agent", status="completed", exit_code=0
)
COMMAND_LEGACY = core_items.legacy_exec_end(COMMAND_CORE, "", "")


def command_item(legacy: LegacyToolEvent | None = COMMAND_LEGACY) -> ToolItem:
    return ToolItem(core=COMMAND_CORE, legacy=legacy, started_at_ms=100, completed_at_ms=180)


def test_a_tool_result_writes_its_item_completed_line_then_the_function_call_output(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    recorder.tool_finished(exec_call(), "Process exited with code 0", command_item())
    assert writer.lines == [
        item_completed(COMMAND_CORE, 100, 180),
        response_item(
            {
                "type": "function_call_output",
                "call_id": "call_1",
                "output": "Process exited with code 0",
            }
        ),
    ]


def test_a_custom_tool_result_is_a_custom_tool_call_output(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    call = ToolCall.from_item(
        {"type": "custom_tool_call", "call_id": "call_2", "name": "apply_patch", "input": "*"}
    )
    recorder.tool_finished(call, "Exit code: 0", None)
    assert writer.lines == [
        response_item(
            {"type": "custom_tool_call_output", "call_id": "call_2", "output": "Exit code: 0"}
        )
    ]


def test_a_local_shell_result_is_a_function_call_output(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    call = ToolCall.from_item({"type": "local_shell_call", "call_id": "call_3", "action": {}})
    recorder.tool_finished(call, "ok", None)
    assert writer.lines == [
        response_item({"type": "function_call_output", "call_id": "call_3", "output": "ok"})
    ]


def test_a_tool_result_made_of_content_items_is_recorded_as_those_items(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    image = [{"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]
    recorder.tool_finished(exec_call(), image, None)
    assert writer.lines[0]["payload"]["output"] == image


def test_a_legacy_tool_result_writes_its_legacy_event_then_the_output(
    writer: FakeWriter,
) -> None:
    legacy_recorder(writer).tool_finished(exec_call(), "done", command_item())
    assert writer.lines == [
        {"type": "event_msg", "payload": COMMAND_LEGACY},
        response_item({"type": "function_call_output", "call_id": "call_1", "output": "done"}),
    ]


def test_a_legacy_tool_item_without_a_legacy_event_writes_only_the_output(
    writer: FakeWriter,
) -> None:
    legacy_recorder(writer).tool_finished(exec_call(), "done", command_item(legacy=None))
    assert writer.lines == [
        response_item({"type": "function_call_output", "call_id": "call_1", "output": "done"})
    ]


def test_a_tool_output_joins_the_model_history(recorder: TurnRecorder, setup: TurnSetup) -> None:
    recorder.tool_finished(exec_call(), "done", command_item())
    assert setup.model_history == [
        {"type": "function_call_output", "call_id": "call_1", "output": "done"}
    ]


# -- inter-agent messages ------------------------------------------------------------------------
def test_an_inter_agent_message_is_recorded_after_its_metadata_line(
    recorder: TurnRecorder, writer: FakeWriter, setup: TurnSetup
) -> None:
    message = InterAgentMessage("/root", "/root/helper", "NEW_TASK", "do it", trigger_turn=True)
    recorder.inter_agent(message)
    model_item = {
        "type": "agent_message",
        "id": "amsg_id-1",
        "author": "/root",
        "recipient": "/root/helper",
        "content": [
            {
                "type": "input_text",
                "text": "Message Type: NEW_TASK\nTask name: /root/helper\n"
                "Sender: /root\nPayload:\ndo it",
            }
        ],
    }
    assert writer.lines == [
        {"type": "inter_agent_communication_metadata", "payload": {"trigger_turn": True}},
        response_item(model_item),
    ]
    assert setup.model_history == [model_item]


def test_a_sub_agent_notification_is_recorded_as_a_user_message_without_metadata(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    recorder.inter_agent(SubAgentNotification("child-1", {"completed": "all done"}))
    body = '{"agent_path":"child-1","status":{"completed":"all done"}}'
    assert writer.lines == [
        response_item(
            input_message(
                "msg_id-1", "user", f"<subagent_notification>\n{body}\n</subagent_notification>"
            )
        )
    ]


# -- token usage ---------------------------------------------------------------------------------
def usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "cached_input_tokens": 0,
        "cache_write_input_tokens": 0,
        "output_tokens": output_tokens,
        "reasoning_output_tokens": 0,
        "total_tokens": input_tokens + output_tokens,
    }


def test_the_token_records_hold_the_response_usage_and_the_turn_and_thread_totals(
    recorder: TurnRecorder, writer: FakeWriter, setup: TurnSetup
) -> None:
    setup.tokens.add(usage(50, 5))
    setup.tokens.start_turn()
    setup.tokens.add(usage(100, 20))
    recorder.usage("resp_1", usage(100, 20))
    assert writer.lines == [
        {
            "type": "token_usage_record",
            "payload": {
                "thread_id": THREAD,
                "turn_id": TURN,
                "session_id": THREAD,
                "root_turn_id": ROOT,
                "response_id": "resp_1",
                "usage": usage(100, 20),
                "turn_token_usage": usage(100, 20),
                "thread_token_usage": usage(150, 25),
            },
        },
        event(
            "token_count",
            info={
                "total_token_usage": usage(150, 25),
                "last_token_usage": usage(100, 20),
                "last_usage_includes_reasoning": False,
                "model_context_window": WINDOW,
            },
            rate_limits=None,
        ),
    ]


def test_the_token_records_keep_the_totals_of_the_moment_they_were_written(
    recorder: TurnRecorder, writer: FakeWriter, setup: TurnSetup
) -> None:
    """A writer may queue lines as given; later responses must not change earlier records."""
    setup.tokens.add(usage(100, 20))
    recorder.usage("resp_1", usage(100, 20))
    setup.tokens.add(usage(300, 30))
    record, count = writer.lines
    assert record["payload"]["thread_token_usage"] == usage(100, 20)
    assert count["payload"]["info"]["total_token_usage"] == usage(100, 20)


# -- endings -------------------------------------------------------------------------------------
def test_a_completed_turn_writes_task_complete_with_its_last_agent_message(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    recorder.completed("All done.", STARTED_AT + 3, 3_200)
    assert writer.lines == [
        event(
            "task_complete",
            root_turn_id=ROOT,
            turn_id=TURN,
            last_agent_message="All done.",
            started_at=STARTED_AT,
            completed_at=STARTED_AT + 3,
            duration_ms=3_200,
        )
    ]


def test_a_turn_without_an_agent_message_completes_with_a_null_last_message(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    recorder.completed(None, STARTED_AT, 10)
    assert writer.lines[0]["payload"]["last_agent_message"] is None
    assert "error" not in writer.lines[0]["payload"]


def test_a_failed_turn_writes_task_complete_with_its_error(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    error = TurnError(
        message="unexpected status 500",
        codex_error_info="internalServerError",
        additional_details="d",
    )
    recorder.failed(error, STARTED_AT + 1, 1_500)
    assert writer.lines == [
        event(
            "task_complete",
            root_turn_id=ROOT,
            turn_id=TURN,
            last_agent_message=None,
            started_at=STARTED_AT,
            completed_at=STARTED_AT + 1,
            duration_ms=1_500,
            error={
                "message": "unexpected status 500",
                "codex_error_info": "internal_server_error",
                "additional_details": "d",
            },
        )
    ]


def test_a_failed_turn_records_a_structured_codex_error_info_as_json(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    """A model that cannot be reached fails the turn with `{"httpConnectionFailed": …}`; the
    line must still be JSON the rollout writer can serialize, in codex's disk spelling."""
    error = TurnError(
        message="Connection to http://127.0.0.1:9/v1/responses failed: refused",
        codex_error_info={"httpConnectionFailed": {"httpStatusCode": None}},
    )
    recorder.failed(error, STARTED_AT + 1, 1_500)
    (line,) = writer.lines
    assert line["payload"]["error"]["codex_error_info"] == {
        "http_connection_failed": {"http_status_code": None}
    }
    orjson.dumps(line)  # what the rollout writer does with it


def test_an_interrupted_turn_writes_the_turn_aborted_notice_then_turn_aborted(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    recorder.interrupted(STARTED_AT + 2, 2_000)
    assert writer.lines == [
        response_item(input_message("msg_id-1", "user", TURN_ABORTED_NOTICE)),
        event(
            "turn_aborted",
            turn_id=TURN,
            root_turn_id=ROOT,
            reason="interrupted",
            started_at=STARTED_AT,
            completed_at=STARTED_AT + 2,
            duration_ms=2_000,
        ),
    ]
    assert TURN_ABORTED_NOTICE.startswith("<turn_aborted>\n")


def test_the_turn_aborted_notice_joins_the_model_history(
    recorder: TurnRecorder, setup: TurnSetup
) -> None:
    recorder.interrupted(STARTED_AT, 1)
    assert setup.model_history == [input_message("msg_id-1", "user", TURN_ABORTED_NOTICE)]


# -- compaction ----------------------------------------------------------------------------------
REPLACEMENT = [input_message("msg_s", "user", "summary of everything")]


def summary(model_item: dict[str, Any] | None) -> Summary:
    return Summary("summary of everything", model_item, ResponseCompleted("resp_c", None))


def test_a_compaction_writes_the_summary_then_compacted_then_the_new_world_state(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    summary_item = assistant_output("msg_c", "summary of everything")
    window = ContextWindow.initial("window-0").successor("window-1")
    snapshot: WorldStatePayload = {"full": True, "state": world(SETTINGS)}
    recorder.compacted(summary(summary_item), "summary", REPLACEMENT, window, snapshot)
    assert writer.lines == [
        response_item(summary_item),
        {
            "type": "compacted",
            "payload": {
                "message": "summary",
                "replacement_history": REPLACEMENT,
                "window_number": 1,
                "first_window_id": "window-0",
                "previous_window_id": "window-0",
                "window_id": "window-1",
                "compaction_response_id": "resp_c",
            },
        },
        {"type": "world_state", "payload": snapshot},
    ]


def test_a_compaction_without_a_summary_item_writes_no_response_item(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    window = ContextWindow.initial("window-0").successor("window-1")
    recorder.compacted(summary(None), "summary", REPLACEMENT, window, {"full": True, "state": {}})
    assert [line["type"] for line in writer.lines] == ["compacted", "world_state"]


def test_a_compaction_replaces_the_model_history_in_place(
    recorder: TurnRecorder, setup: TurnSetup
) -> None:
    history = setup.model_history
    history.extend([input_message("msg_old", "user", "old"), assistant_output("msg_a", "a")])
    window = ContextWindow.initial("window-0").successor("window-1")
    recorder.compacted(summary(None), "summary", REPLACEMENT, window, {"full": True, "state": {}})
    assert setup.model_history is history
    assert history == REPLACEMENT


def test_a_paginated_context_compaction_is_an_item_completed_line(
    recorder: TurnRecorder, writer: FakeWriter
) -> None:
    recorder.context_compaction("compact-1", 7, 9)
    assert writer.lines == [item_completed({"type": "ContextCompaction", "id": "compact-1"}, 7, 9)]


def test_a_legacy_context_compaction_is_a_context_compacted_event(writer: FakeWriter) -> None:
    legacy_recorder(writer).context_compaction("compact-1", 7, 9)
    assert writer.lines == [event("context_compacted")]


# -- the writer ----------------------------------------------------------------------------------
async def test_an_ephemeral_thread_writes_nothing_but_still_builds_the_model_history() -> None:
    setup = make_setup(None)
    recorder = TurnRecorder(setup, THREAD, STARTED_AT)
    recorder.opening()
    recorder.finished(assistant_output("msg_1", "Hi"), agent_message("msg_1", "Hi"), 1, 2)
    recorder.completed("Hi", STARTED_AT, 1)
    await recorder.flush()
    await recorder.sync()
    assert [item["id"] for item in setup.model_history] == ["msg_id-1", "msg_id-2", "msg_1"]


async def test_flush_and_sync_go_to_the_writer(recorder: TurnRecorder, writer: FakeWriter) -> None:
    await recorder.flush()
    await recorder.sync()
    assert (writer.flushes, writer.syncs) == (1, 1)


async def test_a_failing_sync_is_logged_and_does_not_fail_the_turn(
    recorder: TurnRecorder, writer: FakeWriter, caplog: pytest.LogCaptureFixture
) -> None:
    writer.sync_error = OSError(28, "No space left on device")
    with caplog.at_level(logging.ERROR, logger=turn_recorder.__name__):
        await recorder.sync()
    assert [record.getMessage() for record in caplog.records] == [
        f"syncing the rollout of {THREAD} failed"
    ]
