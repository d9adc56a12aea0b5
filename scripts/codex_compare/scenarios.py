"""The scenarios the differential check runs, as data: together they call every method
`app_server/server.py` serves (`_handlers()`), except the codex 0.171 additions
(`thread/search/stream`, the search cancels), which codex 0.169 does not have: those are
compared with codex 0.171.0 (`SEARCH_STREAM`)."""

from __future__ import annotations

from scripts.codex_compare.revert_scenario import REVERT
from scripts.codex_compare.review import REVIEW
from scripts.codex_compare.shell_during_turn_scenario import SHELL_DURING_TURN
from scripts.codex_compare.steps import Call, Queue, Scenario, Turn, WaitFor, WriteFile
from scripts.codex_compare.workspace_scenarios import COMMAND_EXEC, FILE_SEARCH, FS, PROCESS
from tests.support.model_replies import Reply

NO_THREAD = "00000000-0000-0000-0000-000000000000"
START = Call("thread/start", {"cwd": "$cwd"}, save="t")
TID = "$t.thread.id"


def touch(call_id: str) -> Reply:
    return Reply.function_call("exec_command", {"cmd": "touch x.txt"}, call_id=call_id)


HANDSHAKE = Scenario(
    "handshake and catalogs",
    (
        Call("model/list", {}),
        Call("account/read", {}),
        Call("account/rateLimits/read", None),
        Call("account/bedrock/checkGovCloudRequirements", None),
        Call("config/read", {"includeLayers": True, "cwd": "$cwd"}),
        Call("configRequirements/read", None),
        Call("hooks/list", {"cwds": ["$cwd"]}),
        Call("collaborationMode/list", {}),
        Call("permissionProfile/list", {}),
        Call("experimentalFeature/list", {}),
        Call("modelProvider/list", {}),
        Call("modelProvider/capabilities/read", {}),
        Call(
            "config/value/write", {"keyPath": "model", "value": "gpt-x", "mergeStrategy": "replace"}
        ),
        Call(
            "config/batchWrite",
            {
                "edits": [
                    {
                        "keyPath": "model_reasoning_effort",
                        "value": "high",
                        "mergeStrategy": "replace",
                    }
                ]
            },
        ),
        Call("config/read", {}),
    ),
)

LIFECYCLE = Scenario(
    "thread lifecycle",
    (
        START,
        Call("thread/read", {"threadId": TID}),
        Call("thread/loaded/list", {}),
        Turn(TID, "hello", (Reply.text("hi there"),)),
        Call("thread/read", {"threadId": TID, "includeTurns": True}),
        Call("thread/turns/list", {"threadId": TID}),
        Call(
            "thread/turns/list",
            {"threadId": TID, "limit": 5, "sortDirection": "desc", "itemsView": "notLoaded"},
        ),
        Call("thread/items/list", {"threadId": TID}),
        Call("thread/items/list", {"threadId": TID, "limit": 100, "sortDirection": "desc"}),
        Call("thread/name/set", {"threadId": TID, "name": "named"}),
        Call("thread/list", {}),
        Call("thread/search", {"searchTerm": "hello"}),
        Call("thread/fork", {"threadId": TID}, save="f"),
        Call("thread/read", {"threadId": "$f.thread.id", "includeTurns": True}),
        Call("thread/unsubscribe", {"threadId": TID}),
        Call("thread/read", {"threadId": TID}),
        Call("thread/resume", {"threadId": TID}),
        Turn(TID, "again", (Reply.text("second"),)),
        Call("thread/archive", {"threadId": TID}),
        Call("thread/list", {"archived": True}),
        Call("thread/read", {"threadId": TID}),
        Call("thread/unarchive", {"threadId": TID}),
        Call("thread/delete", {"threadId": "$f.thread.id"}),
        Call("thread/loaded/list", {}),
        Call("thread/read", {"threadId": NO_THREAD}),
    ),
)

APPROVALS = Scenario(
    "command approvals",
    (
        Call(
            "thread/start",
            {"cwd": "$cwd", "approvalPolicy": "untrusted", "sandbox": "workspace-write"},
            save="t",
        ),
        Turn(TID, "touch it", (touch("call_1"), Reply.text("done")), decision="accept"),
        Turn(TID, "touch again", (touch("call_2"), Reply.text("declined")), decision="decline"),
        Call("thread/read", {"threadId": TID, "includeTurns": True}),
        Call("thread/unsubscribe", {"threadId": TID}),
        Call("thread/resume", {"threadId": TID}),
    ),
)

COMPACTION = Scenario(
    "compaction",
    (
        START,
        Turn(TID, "hello", (Reply.text("hi").with_usage(input_tokens=100, output_tokens=10),)),
        Queue((Reply.text("SUMMARY"),)),
        Call("thread/compact/start", {"threadId": TID}),
        WaitFor("turn/completed"),
        Call("thread/read", {"threadId": TID, "includeTurns": True}),
        Call("thread/unsubscribe", {"threadId": TID}),
        Call("thread/resume", {"threadId": TID}),
    ),
)

INTERRUPT = Scenario(
    "steer and interrupt",
    (
        START,
        Turn(
            TID,
            "slow",
            (Reply.text("a long answer " * 20, deltas=40).delayed(between_frames=0.05),),
            wait=False,
            save="slow",
        ),
        WaitFor("item/agentMessage/delta"),
        Call(
            "turn/steer",
            {
                "threadId": TID,
                "expectedTurnId": "$slow.turn.id",
                "input": [{"type": "text", "text": "shorter", "text_elements": []}],
            },
        ),
        Queue((Reply.text("a shorter answer " * 5, deltas=40).delayed(between_frames=0.05),)),
        Call("turn/interrupt", {"threadId": TID, "turnId": "$slow.turn.id"}),
        WaitFor("turn/completed"),
        Turn(TID, "next", (Reply.text("fine"),)),
    ),
)

MARKS = Scenario(
    "read state and goals",
    (
        START,
        Turn(TID, "hello", (Reply.text("hi"),)),
        Call("thread/read", {"threadId": TID}, save="r"),
        Call(
            "thread/readState/update",
            {
                "threadId": TID,
                "expectedRevision": "$r.readState.revision",
                "operation": {"type": "read"},
            },
        ),
        Call(
            "thread/readState/update",
            {"threadId": TID, "expectedRevision": "stale", "operation": {"type": "unread"}},
        ),
        Call("thread/list", {}),
        # paused: an active goal makes codex start continuation turns on its own
        Call("thread/goal/set", {"threadId": TID, "objective": "ship it", "status": "paused"}),
        Call("thread/goal/get", {"threadId": TID}),
        Call("thread/goal/set", {"threadId": TID, "tokenBudget": 1000}),
        Call("thread/goal/clear", {"threadId": TID}),
        Call("thread/goal/get", {"threadId": TID}),
        Call("rollout/compress", {"threadId": TID}),
    ),
)

SKILL_MD = "---\nname: demo\ndescription: Demo skill.\n---\n\nDo the demo thing.\n"

SKILLS = Scenario(
    "skills and plugins",
    (
        WriteFile("skills/demo/SKILL.md", SKILL_MD),
        Call("skills/list", {"cwds": ["$cwd"]}, save="sk"),
        Call("skills/config/write", {"name": "demo", "enabled": False}),
        Call("skills/config/write", {"enabled": False}),
        Call("skills/config/write", {"path": "demo/SKILL.md", "enabled": False}),
        Call("skills/list", {"cwds": ["$cwd"]}),
        Call("skills/config/write", {"name": "demo", "enabled": True}),
        Call("skills/config/write", {"path": "$sk.data.0.skills.0.path", "enabled": False}),
        Call("skills/config/write", {"path": "$sk.data.0.skills.0.path", "enabled": True}),
        Call("plugin/installed", {"cwds": ["$cwd"]}),
        Call("plugin/list", {}),
        START,
        Turn(TID, "use $demo please", (Reply.text("ok"),)),
        Queue((Reply.text("ok"),)),
        Call(
            "turn/start",
            {
                "threadId": TID,
                "input": [
                    {"type": "text", "text": "item", "text_elements": []},
                    {"type": "skill", "name": "demo", "path": "$sk.data.0.skills.0.path"},
                ],
            },
        ),
        WaitFor("turn/completed"),
        Call("thread/read", {"threadId": TID, "includeTurns": True}),
    ),
)

SEARCH_STREAM = Scenario(
    "0.171 thread list and search additions",
    (
        Call("thread/start", {"cwd": "$cwd"}, save="a"),
        Turn("$a.thread.id", "hello apple", (Reply.text("ok"),)),
        Call("thread/start", {"cwd": "$cwd"}, save="b"),
        Turn("$b.thread.id", "apple pie please", (Reply.text("ok"),)),
        Call("thread/list", {"includedThreadIds": ["$a.thread.id"]}),
        Call("thread/list", {"includedThreadIds": []}),
        Call("thread/list", {"includedThreadIds": ["x"]}),
        Call(
            "thread/list",
            {"includedThreadIds": ["$a.thread.id"], "excludedThreadIds": ["$a.thread.id"]},
        ),
        Call("thread/search/stream", {"searchTerm": "apple"}),
        Call("thread/search/stream", {"searchTerm": "apple", "limit": 1}),
        Call("thread/search/stream", {"searchTerm": "zzz"}),
        Call("thread/search/stream", {"searchTerm": "  "}),
        Call("thread/search/cancel", {"requestId": 12345}),
        Call("thread/search/stream/cancel", {"requestId": "nope"}),
    ),
    codex_version="0.171.0",
)

SETTINGS = Scenario(
    "settings and metadata",
    (
        START,
        Call("thread/settings/update", {"threadId": TID, "effort": "high"}),
        Call("thread/settings/update", {"threadId": TID, "personality": "friendly"}),
        Call("thread/settings/update", {"threadId": TID, "disabledPluginIds": ["a@b"]}),
        Call("thread/settings/update", {"threadId": TID, "multiAgentMode": "proactive"}),
        Call(
            "thread/metadata/update",
            {"threadId": TID, "gitInfo": {"branch": "dev", "sha": "abc"}, "daybreakEnabled": True},
        ),
        Turn(TID, "hello", (Reply.text("hi"),), params={"multiAgentMode": "proactive"}),
        Call("thread/settings/update", {"threadId": TID, "permissions": ":workspace"}),
        Call("thread/settings/update", {"threadId": TID, "sandboxPolicy": {"type": "readOnly"}}),
        Call(
            "thread/settings/update",
            {
                "threadId": TID,
                "collaborationMode": {
                    "mode": "default",
                    "settings": {
                        "model": "gpt-test",
                        "reasoning_effort": "low",
                        "developer_instructions": "be brief",
                    },
                },
            },
        ),
        Call("thread/settings/update", {"threadId": TID, "environments": []}),
        Call(
            "thread/settings/update",
            {"threadId": TID, "environments": [{"environmentId": "local", "cwd": "$cwd"}]},
        ),
        Turn(TID, "again", (Reply.text("second"),)),
        Call("thread/metadata/update", {"threadId": TID, "gitInfo": {"branch": None}}),
        Call("thread/read", {"threadId": TID}),
        Call("thread/list", {}),
        Call("thread/unsubscribe", {"threadId": TID}),
        Call("thread/metadata/update", {"threadId": TID, "gitInfo": {"originUrl": "https://x/r"}}),
        Call("thread/resume", {"threadId": TID, "excludeTurns": True}),
        Call("thread/settings/update", {"threadId": TID, "summary": "concise"}),
    ),
)

STEER_COMPACTION = Scenario(
    "steering a compaction",
    (
        START,
        Turn(TID, "hello", (Reply.text("hi").with_usage(input_tokens=100, output_tokens=10),)),
        Queue((Reply.text("SUMMARY " * 5, deltas=20).delayed(between_frames=0.1),)),
        Call("thread/compact/start", {"threadId": TID}),
        Call(
            "turn/steer",
            {
                "threadId": TID,
                "expectedTurnId": "$@turn/started.turn.id",
                "input": [{"type": "text", "text": "more", "text_elements": []}],
            },
        ),
        Turn(TID, "during", (), wait=False),
        WaitFor("turn/completed"),
    ),
)

USER_INPUT_EXTRAS = Scenario(
    "shell command, injected items, queue, memory mode",
    (
        START,
        Call("thread/shellCommand", {"threadId": TID, "command": "echo hi"}),
        WaitFor("turn/completed"),
        Call("thread/shellCommand", {"threadId": TID, "command": " "}),
        Call("thread/shellCommand", {"threadId": TID, "command": "true", "timeoutMs": -1}),
        Turn(TID, "what did it print?", (Reply.text("hi"),), save="turn"),
        Call(
            "thread/inject_items",
            {
                "threadId": TID,
                "items": [
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "INJECTED"}],
                    }
                ],
            },
        ),
        Call("thread/inject_items", {"threadId": TID, "items": []}),
        Call("thread/inject_items", {"threadId": TID, "items": [{"foo": 1}]}),
        Call("thread/items/read", {"threadId": TID, "turnId": "$turn.turn.id", "itemIds": ["x"]}),
        Call("thread/items/read", {"threadId": TID, "turnId": "$turn.turn.id", "itemIds": []}),
        Call("thread/queue/list", {"threadId": TID}),
        Call("thread/queue/start", {"threadId": TID}),
        Call("thread/queue/delete", {"threadId": TID, "queuedSubmissionId": "zz"}),
        Call("thread/queue/reorder", {"threadId": TID, "queuedSubmissionIds": ["zz"]}),
        Call("thread/memoryMode/set", {"threadId": TID, "mode": "disabled"}),
        Call("thread/memoryMode/set", {"threadId": NO_THREAD, "mode": "disabled"}),
    ),
)

SCENARIOS = (
    HANDSHAKE,
    LIFECYCLE,
    APPROVALS,
    COMPACTION,
    INTERRUPT,
    MARKS,
    SKILLS,
    SEARCH_STREAM,
    SETTINGS,
    STEER_COMPACTION,
    USER_INPUT_EXTRAS,
    REVERT,
    SHELL_DURING_TURN,
    REVIEW,
    FS,
    COMMAND_EXEC,
    PROCESS,
    FILE_SEARCH,
)
