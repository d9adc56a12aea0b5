"""The value types of config keys, each carrying what it expects in a `configWarning`'s words.

Every key's type is one of these aliases, so a bad value is reported the same way whichever key
it is under: `expected <Expect.text>, got <value>`. Values are checked strictly (a string is
never read as a number, nor a number as a boolean): TOML and JSON both carry real types, and a
`-c` value that is not valid TOML is a string, so `-c max_sampling_steps=many` is caught too.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Struct
from pydantic import BeforeValidator, Field, Strict

from protocol.types import AskForApproval, ReasoningSummary, SandboxMode


class Expect(Struct, frozen=True):
    """What a value must be, as a warning says it: "expected <text>, got …"."""

    text: str


class Instead(Struct, frozen=True):
    """What is used when a key's value is invalid, where its default alone does not say it
    (a key whose default is "unset" but which then falls back to a built-in value)."""

    text: str


Flag = Annotated[bool, Strict(), Expect("true or false")]
Text = Annotated[str, Strict(), Expect("a string")]
Name = Annotated[str, Strict(), Field(min_length=1), Expect("a non-empty string")]
Count = Annotated[int, Strict(), Field(ge=0), Expect("a non-negative integer")]
PositiveInt = Annotated[int, Strict(), Field(gt=0), Expect("a positive integer")]
Amount = Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False), Expect("a number >= 0")]
"""A duration or an age: any finite number, integers included, not below zero."""
TextTable = Annotated[dict[str, Annotated[str, Strict()]], Expect("a table of strings")]
TextList = Annotated[list[Annotated[str, Strict()]], Expect("a list of strings")]

WireApiValue = Annotated[Literal["responses", "chat"], Expect('"responses" or "chat"')]
ShellToolType = Annotated[
    Literal["unified_exec", "shell", "shell_command"],
    Expect('"unified_exec", "shell" or "shell_command"'),
]
ApplyPatchToolType = Annotated[Literal["freeform", "function"], Expect('"freeform" or "function"')]
SandboxModeValue = Annotated[
    SandboxMode, Expect('"read-only", "workspace-write" or "danger-full-access"')
]
ReasoningSummaryValue = Annotated[
    ReasoningSummary, Expect('"auto", "concise", "detailed" or "none"')
]

LEGACY_APPROVAL_POLICIES = {"on-failure": "on-request"}
"""Config spellings older codex versions accepted, and what they mean now (0.169 dropped
`on-failure`: run sandboxed, ask when the model wants out — which `on-request` does)."""


def modern_approval_policy(value: object) -> object:
    """A legacy approval spelling replaced by its 0.169 equivalent; anything else unchanged."""
    if isinstance(value, str):
        return LEGACY_APPROVAL_POLICIES.get(value, value)
    return value


ApprovalPolicyValue = Annotated[
    AskForApproval,
    BeforeValidator(modern_approval_policy),
    Expect('"untrusted", "on-request", "never" or a granular table'),
]
