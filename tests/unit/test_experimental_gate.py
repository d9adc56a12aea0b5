"""The experimental gate walks params without recursion (issue 14)."""

from __future__ import annotations

import pytest

from app_server.errors import ExperimentalApiRequired
from app_server.rpc.experimental import check_experimental_params
from protocol.types import GranularAskForApproval, ThreadStartParams


def deep_dict(depth: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(depth):
        value = {"a": [value]}
    return value


def test_free_form_value_deeper_than_the_recursion_limit_is_walked() -> None:
    """Built in Python, past what the parser lets in: the walk must still not recurse."""
    params = ThreadStartParams.model_construct(config=deep_dict(5000))
    check_experimental_params("thread/start", params)


def test_experimental_variant_nested_in_params_is_refused() -> None:
    granular = {"granular": {"mcp_elicitations": True, "rules": True, "sandbox_approval": True}}
    params = ThreadStartParams.model_validate({"approvalPolicy": granular})
    assert isinstance(params.approval_policy, GranularAskForApproval)
    with pytest.raises(ExperimentalApiRequired) as refused:
        check_experimental_params("thread/start", params)
    assert refused.value.descriptor == "askForApproval.granular"
