"""Hypothesis strategies for throwing junk at the server: bytes, JSON, and almost-right requests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from protocol.methods import CLIENT_REQUESTS, UPSTREAM_CLIENT_METHODS

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)

json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)


def _field_names() -> list[str]:
    names: set[str] = set()
    for spec in CLIENT_REQUESTS.values():
        if spec.params is not None:
            names.update(info.alias or name for name, info in spec.params.model_fields.items())
    return sorted(names)


FIELD_NAMES = _field_names()

methods = (
    st.sampled_from(sorted(CLIENT_REQUESTS))
    | st.sampled_from(sorted(UPSTREAM_CLIENT_METHODS))
    | st.text(max_size=25)
)

params = (
    st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=10), json_values, max_size=6)
    | json_values
)


@st.composite
def requests(draw: st.DrawFn, request_id: str) -> dict[str, Any]:
    """A request with the given id, a plausible or random method and plausible params."""
    message: dict[str, Any] = {"id": request_id, "method": draw(methods)}
    if draw(st.booleans()):
        message["params"] = draw(params)
    return message


random_bytes = st.binary(max_size=300)
