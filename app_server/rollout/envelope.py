"""The envelope every rollout line gets when it is appended (STORAGE.md §3.1).

`{"timestamp", "ordinal"?, "type", "payload", <extras>…}` in this member order, as codex writes
it. The writer of a thread owns its envelopes: it stamps the time (unless the line carries one,
as a copied line does) and numbers paginated lines; a line must not bring its own ordinal. Both
stores wrap lines here, so a line reads back the same from either.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from app_server.rollout.lines import RolloutLine, StoredLine

_ENVELOPE_KEYS = frozenset({"timestamp", "ordinal", "type", "payload"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def envelope(line: RolloutLine, stamp: str, ordinal: int | None) -> StoredLine:
    """`line` as it is stored: `stamp` unless it has a timestamp, `ordinal` when paginated.

    Raises `ValueError` for a line without `type`/`payload`, with a non-string `type` or
    timestamp, or with an `ordinal`. The result shares `payload` (and extras) with `line`.
    """
    fields: Mapping[str, Any] = line
    try:
        kind = fields["type"]
        payload = fields["payload"]
    except KeyError as missing:
        raise ValueError(f"a rollout line needs {missing.args[0]!r}") from None
    if not isinstance(kind, str):
        raise ValueError(f"rollout line type must be a string, got {kind!r}")
    if "ordinal" in fields:
        raise ValueError("rollout lines must not carry an ordinal: the writer assigns it")
    timestamp = fields.get("timestamp", stamp)
    if not isinstance(timestamp, str):
        raise ValueError(f"rollout line timestamp must be a string, got {timestamp!r}")
    record = StoredLine({"timestamp": timestamp})
    if ordinal is not None:
        record["ordinal"] = ordinal
    record["type"] = kind
    record["payload"] = payload
    for key, value in fields.items():
        if key not in _ENVELOPE_KEYS:
            record[key] = value
    return record


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds and `Z`, e.g. `2026-11-24T18:21:11.155Z`."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def format_timestamp_ms(epoch_ms: int) -> str:
    """Unix milliseconds in the envelope's format (`2026-11-24T18:24:28.201Z`)."""
    seconds, millis = divmod(epoch_ms, 1000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{millis:03d}Z"


_last_second: tuple[str, int] = ("", 0)
"""The `YYYY-MM-DDTHH:MM:SS` of the last canonical timestamp parsed and its unix milliseconds.
A fold reads one timestamp per line, and consecutive lines mostly share their second: the memo
turns a `fromisoformat` per line into a slice and an `int` (issue 17). One tuple, replaced whole,
so folds in several threads can share it."""
_last_stamp: tuple[str, int] = ("", 0)
"""The last timestamp parsed (not `""`, which is refused first) and its unix milliseconds:
lines written together carry the same millisecond."""


def parse_timestamp_ms(value: Any) -> int | None:
    """RFC 3339 (`2026-11-24T18:57:46.216Z`, any fraction length) → unix milliseconds."""
    if not isinstance(value, str) or not value:
        return None
    last_value, last_ms = _last_stamp
    if value == last_value:
        return last_ms
    canonical = (
        len(value) == 24
        and value[19] == "."
        and value[23] == "Z"
        and value[20:23].isascii()
        and value[20:23].isdigit()
    )
    if canonical:
        second, second_ms = _last_second
        if value[:19] == second:
            epoch_ms = second_ms + int(value[20:23])
            _remember_stamp(value, epoch_ms)
            return epoch_ms
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    epoch_ms = (parsed - _EPOCH) // timedelta(milliseconds=1)
    if canonical:
        _remember_second(value[:19], epoch_ms - int(value[20:23]))
    _remember_stamp(value, epoch_ms)
    return epoch_ms


def _remember_second(second: str, epoch_ms: int) -> None:
    global _last_second
    _last_second = (second, epoch_ms)


def _remember_stamp(value: str, epoch_ms: int) -> None:
    global _last_stamp
    _last_stamp = (value, epoch_ms)
