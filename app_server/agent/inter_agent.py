"""Messages between agents of one session tree, and the mailbox that holds them until a turn
takes them (AGENT_LOOP.md §6).

Agents talk through history, not through side channels: a task for a sub-agent, a message to
it, and its final answer to its parent are all `agent_message` items the recipient's model reads
(`Message Type: …` header, then the payload), each preceded in the rollout by an
`inter_agent_communication_metadata` line saying whether it started a turn. A message waits in
the recipient's `Mailbox` until the recipient's turn reaches a boundary (before it samples the
model again) or, when the recipient is idle, until its next turn; posting one wakes anything
waiting on the mailbox (`wait_agent`).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import orjson
from msgspec import Struct

from app_server.ids import uuid7

ROOT_AGENT_PATH = "/root"
"""The agent path of a thread that was not spawned (the root of its session tree)."""

MessageKind = Literal["NEW_TASK", "MESSAGE", "FINAL_ANSWER"]


class InterAgentMessage(Struct, frozen=True):
    """One message from an agent to another, as the recipient's model will read it."""

    author: str
    """The sender's agent path (`/root`, `/root/helper_task`)."""
    recipient: str
    kind: MessageKind
    payload: str
    trigger_turn: bool
    """Whether the message started a turn of the recipient (recorded beside it)."""

    def text(self) -> str:
        return (
            f"Message Type: {self.kind}\nTask name: {self.recipient}\n"
            f"Sender: {self.author}\nPayload:\n{self.payload}"
        )

    def model_item(self) -> dict[str, Any]:
        """The `agent_message` history item."""
        return {
            "type": "agent_message",
            "id": f"amsg_{uuid7()}",
            "author": self.author,
            "recipient": self.recipient,
            "content": [{"type": "input_text", "text": self.text()}],
        }


class SubAgentNotification(Struct, frozen=True):
    """v1: a child's new final status, told to its parent as a user message (0.169's shape)."""

    agent_id: str
    status: Any
    """The child's core `AgentStatus` (`{"completed": "<final message>"}`)."""
    trigger_turn: bool = False

    def model_item(self) -> dict[str, Any]:
        body = orjson.dumps({"agent_path": self.agent_id, "status": self.status}).decode()
        return {
            "type": "message",
            "id": f"msg_{uuid7()}",
            "role": "user",
            "content": [
                {
                    "type": "input_text",
                    "text": f"<subagent_notification>\n{body}\n</subagent_notification>",
                }
            ],
        }


Mail = InterAgentMessage | SubAgentNotification
"""What a mailbox holds."""


class Mailbox:
    """Inter-agent messages waiting for a thread's turn (see the module docstring).

    Lives as long as the loaded thread; messages are not persisted until a turn records them, so
    mail to a thread that is unloaded (or a server that stops) before its next turn is lost —
    the sender's own history still shows what it sent.
    """

    def __init__(self) -> None:
        self._messages: list[Mail] = []
        self._posted = asyncio.Event()

    def post(self, message: Mail) -> None:
        self._messages.append(message)
        self._posted.set()

    def take(self) -> list[Mail]:
        """Every waiting message, oldest first; the mailbox is empty afterwards."""
        messages, self._messages = self._messages, []
        self._posted.clear()
        return messages

    def __bool__(self) -> bool:
        return bool(self._messages)

    async def wait(self) -> None:
        """Return once a message is waiting (at once if one already is)."""
        await self._posted.wait()
