"""`thread/list` cursors: codex 0.169's textual shapes, parsed into keyset bounds.

Cursors are opaque to clients, but we write the shapes and values codex 0.169 writes, so the
recorded answers (`expected/thread-list*.json`) match byte for byte (PROTOCOL.md §7.4):

- `nextCursor` = `"<RFC 3339 UTC, milliseconds>|<thread id>"` of the page's **last** row, e.g.
  `2026-11-24T18:24:28.201Z|01a20ecd-…`: an **exclusive** keyset bound on `(sort value, id)` in
  the query's direction; the next page starts right after that row.
- `backwardsCursor` = `"<RFC 3339 UTC, milliseconds>"`, a timestamp-only cursor, one
  millisecond *before* the page's first row (codex's text for descending pages; observed: first
  row created at `18:57:51.084`, `backwardsCursor` `2026-11-24T18:57:51.083Z`). It splits the
  listing right after the first row's instant: read descending it yields the first row and
  older ones (the page again), read ascending the rows newer than the first row, i.e. the page
  before it in a descending listing. That is what codex 0.169 answers when rows lie in
  different seconds (codex compares whole seconds, so within one second it skips or repeats
  rows; we compare milliseconds). Codex writes one millisecond *after* the first row for an
  ascending page; we write the same "before" text for both directions, so the cursor means
  the same instant whichever direction produced it (an opaque difference of 2 ms).

On input we also accept whole seconds (`2026-11-24T18:24:28Z|<id>`, the shape codex 0.169 writes
for `nextCursor`). Such a keyset cursor only knows the row's second, so it is compared at second
granularity (see `ListCursor`). Anything else raises `InvalidCursor` with the message
`invalid cursor: <text>`, which the RPC layer returns as-is (-32600).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from msgspec import Struct

from app_server.store.errors import InvalidCursor

MILLIS_PRECISION = 1
"""`precision_ms` of a cursor written with milliseconds (ours)."""
SECONDS_PRECISION = 1000
"""`precision_ms` of a cursor written with whole seconds (codex 0.169's `nextCursor`)."""

BACKWARDS_OFFSET_MS = 1
"""How far before its page's first row a `backwardsCursor` is written (codex's text)."""

_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<millis>\d{3}))?Z"
)
_THREAD_ID = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ListCursor(Struct, frozen=True):
    """A parsed cursor: a bound on `(sort value in unix ms, thread id)`, exclusive.

    - With `thread_id` (a `nextCursor`): rows strictly after `(sort_ms, thread_id)` in the
      query's direction. At seconds precision the row's exact millisecond is unknown, so the
      timestamp stands for its whole second `[sort_ms, last_ms]`: rows of a later second, or of
      that second with an id beyond `thread_id`.
    - Without (a `backwardsCursor`, written one ms before its page's first row): the split
      point is that first row's instant `sort_ms + 1`; descending admits it and older rows,
      ascending only newer ones.
    """

    sort_ms: int
    precision_ms: int = MILLIS_PRECISION
    thread_id: str | None = None

    @property
    def split_ms(self) -> int:
        """A timestamp-only cursor's split instant: its page's first row (see the module)."""
        return self.sort_ms + BACKWARDS_OFFSET_MS

    @property
    def last_ms(self) -> int:
        """The last millisecond the timestamp covers."""
        return self.sort_ms + self.precision_ms - 1

    def admits(self, sort_ms: int, thread_id: str, *, descending: bool) -> bool:
        """Whether the row `(sort_ms, thread_id)` lies beyond this cursor in the direction.

        The reference semantics: the SQL of the local store (`local/list_sql.py`) and any
        Python store must select exactly these rows.
        """
        first, last = self.sort_ms, self.last_ms
        if self.thread_id is None:
            split = self.split_ms
            return sort_ms <= split if descending else sort_ms > split
        if descending:
            return sort_ms < first or (sort_ms <= last and thread_id < self.thread_id)
        return sort_ms > last or (sort_ms >= first and thread_id > self.thread_id)


def format_timestamp_ms(epoch_ms: int) -> str:
    """Unix ms → RFC 3339 UTC with milliseconds and `Z` (`2026-11-24T18:24:28.201Z`)."""
    seconds, millis = divmod(epoch_ms, 1000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{millis:03d}Z"


def format_next_cursor(sort_ms: int, thread_id: str) -> str:
    """The `nextCursor` after the row `(sort_ms, thread_id)` (exclusive keyset bound)."""
    return f"{format_timestamp_ms(sort_ms)}|{thread_id}"


def format_backwards_cursor(first_sort_ms: int) -> str:
    """The `backwardsCursor` of a page whose first row sorts at `first_sort_ms`: one
    millisecond before it, whatever the page's direction (see the module)."""
    return format_timestamp_ms(first_sort_ms - BACKWARDS_OFFSET_MS)


def parse_cursor(text: str) -> ListCursor:
    """Parse a `nextCursor` / `backwardsCursor` (ours or codex 0.169's); `InvalidCursor` else."""
    stamp, separator, thread_id = text.partition("|")
    if separator and not _THREAD_ID.fullmatch(thread_id):
        raise InvalidCursor(text)
    match = _TIMESTAMP.fullmatch(stamp)
    if match is None:
        raise InvalidCursor(text)
    try:
        moment = datetime.strptime(f"{match['date']}T{match['time']}", "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=UTC
        )
    except ValueError:
        raise InvalidCursor(text) from None
    seconds = (moment - _EPOCH) // timedelta(seconds=1)
    millis = match["millis"]
    return ListCursor(
        sort_ms=seconds * 1000 + (int(millis) if millis is not None else 0),
        precision_ms=MILLIS_PRECISION if millis is not None else SECONDS_PRECISION,
        thread_id=thread_id if separator else None,
    )
