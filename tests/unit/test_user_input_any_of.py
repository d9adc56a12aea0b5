"""`UserInput`'s image and audio inputs need a `url` or a `fileId` (the upstream schema's
`anyOf`), checked when a value is validated (`protocol.wire_model.AnyOfModel`)."""

from __future__ import annotations

import pydantic
import pytest

from app_server.rpc.errors import invalid_params
from protocol.types import AudioUserInput, ImageUserInput, TurnStartParams, TurnSteerParams


@pytest.mark.parametrize("kind", ["image", "audio"])
def test_an_input_without_url_or_file_id_is_refused_with_a_message_naming_both(kind: str) -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        TurnStartParams.model_validate({"threadId": "t", "input": [{"type": kind}]})

    message = str(invalid_params(refused.value))
    assert message.startswith("Invalid params: `input[0]")
    assert f"an {kind} input needs a `url` or a `fileId`" in message


def test_a_null_url_counts_as_missing() -> None:
    with pytest.raises(pydantic.ValidationError):
        ImageUserInput.model_validate({"type": "image", "url": None})


def test_every_method_taking_user_input_checks_it() -> None:
    with pytest.raises(pydantic.ValidationError):
        TurnSteerParams.model_validate(
            {"threadId": "t", "expectedTurnId": "u", "input": [{"type": "audio"}]}
        )


@pytest.mark.parametrize("field", ["url", "fileId"])
def test_either_field_alone_is_enough_and_the_other_stays_off_the_wire(field: str) -> None:
    value = AudioUserInput.model_validate({"type": "audio", field: "x"})

    assert value.model_dump(by_alias=True, exclude_unset=False, exclude_none=False) == {
        "type": "audio",
        field: "x",
    }
