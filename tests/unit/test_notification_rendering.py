"""Streaming deltas rendered with orjson are byte for byte what the pydantic envelope writes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app_server.notification import Notification, flat_delta_types, method_of, render_model
from protocol.jsonrpc import JsonRpcServerNotification
from protocol.wire_model import WireModel

# Text a model can stream: any code point but lone surrogates (orjson.loads refuses them).
streamed_text = st.text(st.characters(exclude_categories=["Cs"]))


def params_of(params_type: type[WireModel], text: str, number: int) -> WireModel:
    values: dict[str, object] = {}
    for name, field in params_type.model_fields.items():
        values[name] = number if field.annotation is int else text
    return params_type(**values)


def pydantic_rendering(note: Notification, *, experimental: bool) -> bytes:
    envelope = JsonRpcServerNotification(
        method=note.method, params=note.params, emitted_at_ms=note.emitted_at_ms
    )
    return render_model(envelope, experimental=experimental)


@given(
    params_type=st.sampled_from(flat_delta_types()),
    text=streamed_text,
    number=st.integers(min_value=0, max_value=2**53),
)
def test_a_flat_delta_renders_as_the_pydantic_envelope_does(
    params_type: type[WireModel], text: str, number: int
) -> None:
    params = params_of(params_type, text, number)
    for experimental in (False, True):
        note = Notification(method_of(params), params)
        assert note.render(experimental=experimental) == pydantic_rendering(
            note, experimental=experimental
        )


def test_flat_delta_types_have_only_string_and_integer_fields() -> None:
    for params_type in flat_delta_types():
        kinds = {field.annotation for field in params_type.model_fields.values()}
        assert kinds <= {str, int}, params_type.__name__
