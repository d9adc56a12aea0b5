"""`item/commandExecution/requestApproval` params as codex 0.169 sends them: the optional keys
below are left out when they have no value (codex skips them), not sent as null."""

from __future__ import annotations

from pydantic import Field

from protocol import types
from protocol.types import (
    AdditionalPermissionProfile,
    CommandExecutionRequestApprovalParams,
    NetworkApprovalContext,
    NetworkPolicyAmendment,
)
from protocol.wire_model import omit_none


class CommandApprovalParams(CommandExecutionRequestApprovalParams):
    """The upstream params with codex's omissions (observed with
    `scripts/compare_with_codex.py`)."""

    additional_permissions: AdditionalPermissionProfile | None = Field(
        default=None, exclude_if=omit_none
    )
    approval_id: str | None = Field(default=None, exclude_if=omit_none)
    network_approval_context: NetworkApprovalContext | None = Field(
        default=None, exclude_if=omit_none
    )
    proposed_network_policy_amendments: list[NetworkPolicyAmendment] | None = Field(
        default=None, exclude_if=omit_none
    )
    reason: str | None = Field(default=None, exclude_if=omit_none)


# The parent's annotations name types of `protocol.types`, resolved there (deferred build).
CommandApprovalParams.model_rebuild(_types_namespace=vars(types))
