"""Replacement histories after a compaction, and trimming a summarization input."""

from __future__ import annotations

from typing import Any

import pytest

from app_server.agent.compaction import SUMMARIZATION_PROMPT, summarization_input, trim_oldest
from app_server.rollout.compacted_history import (
    COMPACT_USER_MESSAGE_MAX_TOKENS,
    SUMMARY_PREFIX,
    is_user_turn_message,
    legacy_replacement,
    message_text,
    recent_user_messages,
    replacement_history,
    summary_message,
)

BUDGET_CHARS = COMPACT_USER_MESSAGE_MAX_TOKENS * 4


def message(role: str, text: str) -> dict[str, Any]:
    kind = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


def user(text: str) -> dict[str, Any]:
    return message("user", text)


def call(call_id: str, kind: str = "function_call") -> dict[str, Any]:
    return {"type": kind, "call_id": call_id, "name": "shell", "arguments": "{}"}


def output(call_id: str, kind: str = "function_call_output") -> dict[str, Any]:
    return {"type": kind, "call_id": call_id, "output": "ok"}


ENVIRONMENT = user("<environment_context>\n  <cwd>/work</cwd>\n</environment_context>")
DEVELOPER = message("developer", "<permissions instructions>sandboxed</permissions instructions>")


# --- which messages are the user's -----------------------------------------------------------


def test_a_plain_user_message_is_a_user_turn_message() -> None:
    assert is_user_turn_message(user("please fix the bug"))


@pytest.mark.parametrize(
    "text",
    [
        "<environment_context>\n  <cwd>/work</cwd>\n</environment_context>",
        "<user_instructions>be brief</user_instructions>",
        "# AGENTS.md instructions for /work\n\nbe brief",
        "<turn_aborted>interrupted</turn_aborted>",
        "<subagent_notification>done</subagent_notification>",
        f"{SUMMARY_PREFIX}\nthe summary",
        "  \n",
    ],
)
def test_context_summary_and_notifications_are_not_user_turn_messages(text: str) -> None:
    assert not is_user_turn_message(user(text))


def test_the_summary_message_is_not_a_user_turn_message() -> None:
    assert not is_user_turn_message(summary_message("the summary"))


@pytest.mark.parametrize("role", ["assistant", "developer", "system"])
def test_messages_of_other_roles_are_not_user_turn_messages(role: str) -> None:
    assert not is_user_turn_message(message(role, "please fix the bug"))


def test_non_message_items_are_not_user_turn_messages() -> None:
    assert not is_user_turn_message({"type": "reasoning", "role": "user", "content": "x"})


# --- summary_message --------------------------------------------------------------------------


def test_summary_message_opens_with_the_summary_prefix() -> None:
    item = summary_message("the summary", "item-1")

    assert item["id"] == "item-1"
    assert item["role"] == "user"
    assert message_text(item) == f"{SUMMARY_PREFIX}\nthe summary"


def test_summary_message_does_not_repeat_the_prefix() -> None:
    text = f"{SUMMARY_PREFIX}\nthe summary"

    assert message_text(summary_message(text)) == text


# --- replacement_history ----------------------------------------------------------------------


def test_replacement_history_puts_context_before_the_last_user_message_and_summary_last() -> None:
    first, second = user("first question"), user("second question")
    history = [
        DEVELOPER,
        ENVIRONMENT,
        first,
        message("assistant", "first answer"),
        call("c1"),
        output("c1"),
        second,
        message("assistant", "second answer"),
    ]
    summary = summary_message("the summary")
    context = [DEVELOPER, ENVIRONMENT]

    result = replacement_history(history, summary, context)

    assert result == [first, DEVELOPER, ENVIRONMENT, second, summary]


def test_replacement_history_without_user_messages_is_context_then_summary() -> None:
    summary = summary_message("the summary")

    result = replacement_history([message("assistant", "hi")], summary, [ENVIRONMENT])

    assert result == [ENVIRONMENT, summary]


def test_replacement_history_drops_earlier_summaries() -> None:
    old_summary = summary_message("old summary")
    question = user("question")
    summary = summary_message("new summary")

    result = replacement_history([old_summary, question], summary, [])

    assert result == [question, summary]


def test_user_message_budget_drops_the_oldest_messages() -> None:
    oldest = user("a" * (BUDGET_CHARS // 2))
    middle = user("b" * (BUDGET_CHARS // 4))
    newest = user("c" * (BUDGET_CHARS // 2))

    assert recent_user_messages([oldest, middle, newest]) == [middle, newest]


def test_user_message_budget_always_keeps_the_newest_message() -> None:
    older = user("short")
    newest = user("x" * (BUDGET_CHARS * 2))

    assert recent_user_messages([older, newest]) == [newest]


def test_user_message_budget_keeps_everything_that_fits() -> None:
    messages = [user(f"message {n}") for n in range(5)]

    assert recent_user_messages(messages) == messages


# --- legacy_replacement -----------------------------------------------------------------------


def test_legacy_replacement_keeps_the_context_messages_before_the_last_user_message() -> None:
    first, second = user("first question"), user("second question")
    history = [
        DEVELOPER,
        ENVIRONMENT,
        first,
        message("assistant", "first answer"),
        second,
        message("assistant", "second answer"),
    ]

    result = legacy_replacement(history, "the summary")

    assert result == [first, DEVELOPER, ENVIRONMENT, second, summary_message("the summary")]


def test_legacy_replacement_context_skips_non_message_items() -> None:
    question = user("question")
    history = [ENVIRONMENT, {"type": "reasoning", "summary": []}, question]

    result = legacy_replacement(history, "the summary")

    assert result == [ENVIRONMENT, question, summary_message("the summary")]


def test_legacy_replacement_keeps_the_context_across_repeated_compactions() -> None:
    history = [DEVELOPER, ENVIRONMENT, user("q1"), message("assistant", "a1"), user("q2")]
    once = legacy_replacement(history, "s1")

    twice = legacy_replacement([*once, user("q3")], "s2")

    assert twice == [
        user("q1"),
        user("q2"),
        DEVELOPER,
        ENVIRONMENT,
        user("q3"),
        summary_message("s2"),
    ]


def test_legacy_replacement_never_takes_assistant_messages_as_context() -> None:
    history = [message("assistant", "hi"), message("assistant", "there")]

    assert legacy_replacement(history, "s") == [summary_message("s")]


# --- trim_oldest ------------------------------------------------------------------------------


def test_trim_oldest_drops_the_oldest_quarter() -> None:
    history = [user(f"m{n}") for n in range(8)]

    assert trim_oldest(history) == history[2:]


def test_trim_oldest_drops_at_least_one_item() -> None:
    history = [user("a"), user("b"), user("c")]

    assert trim_oldest(history) == history[1:]


def test_trim_oldest_drops_tool_outputs_whose_call_is_gone() -> None:
    history = [
        user("question"),
        call("c1"),
        output("c1"),
        call("c2", "custom_tool_call"),
        output("c2", "custom_tool_call_output"),
        call("c3"),
        output("c3"),
        message("assistant", "answer"),
    ]
    # The oldest quarter (question, c1's call) goes; c1's output is left without its call.

    assert trim_oldest(history) == history[3:]


def test_trim_oldest_drops_a_custom_tool_output_whose_call_is_gone() -> None:
    history = [
        call("c1", "custom_tool_call"),
        output("c1", "custom_tool_call_output"),
        message("assistant", "answer"),
    ]

    assert trim_oldest(history) == [message("assistant", "answer")]


def test_trim_oldest_matches_an_output_only_to_a_call_of_its_own_kind() -> None:
    # A function_call_output answers a function_call, not a custom_tool_call with the same id.
    history = [
        user("question"),
        call("c1", "custom_tool_call"),
        output("c1"),
    ]

    assert trim_oldest(history) == [call("c1", "custom_tool_call")]


def test_trim_oldest_returns_none_when_nothing_is_left() -> None:
    assert trim_oldest([user("only")]) is None


def test_trim_oldest_returns_none_when_only_orphan_outputs_are_left() -> None:
    assert trim_oldest([call("c1"), output("c1")]) is None


def test_summarization_input_is_the_history_then_the_prompt() -> None:
    history = [user("question"), message("assistant", "answer")]

    result = summarization_input(history)

    assert result[:-1] == history
    assert result[-1]["role"] == "user"
    assert message_text(result[-1]) == SUMMARIZATION_PROMPT
