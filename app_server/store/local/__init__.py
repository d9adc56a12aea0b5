"""The local store: codex 0.169's on-disk history under the data dir (`CODEX_HOME`).

Everything here is blocking file I/O or pure code; async callers run it in a worker thread.

- `rollout_files`: file naming and discovery (`sessions/…`, `archived_sessions/…`, `.zst`).
- `rollout_reader`: streaming `(byte_offset, line)` reader for plain and `.jsonl.zst` rollouts.
- `history`: the fold that turns rollout lines into thread metadata (`thread_metadata`) and the
  Turn/ThreadItem view (`turn_builder`, with `item_mapping` for paginated core items,
  `legacy_items` for legacy events and `wire_values` for shared value conversions).
- `thread_loader`: glue that reads one stored thread (with fork lineage) from the data dir.
- `session_index`: the thread-name index `session_index.jsonl`.
"""
