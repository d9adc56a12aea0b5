"""The local store: codex 0.169's on-disk history under the data dir (`CODEX_HOME`).

Everything here is blocking file I/O or pure code; async callers run it in a worker thread. What
a rollout line *means* (its shapes, the history fold) lives in `app_server.rollout`; this package
finds, reads, writes, compresses and indexes the files.

- `rollout_files`: file naming and discovery (`sessions/…`, `archived_sessions/…`, `.zst`).
- `rollout_reader`: streaming `(byte_offset, line)` reader for plain and `.jsonl.zst` rollouts.
- `rollout_writer`: the single appender of one rollout (envelope, ordinals, writer lock).
- `rollout_group_commit`: how its lines reach the file (one `write(2)` a batch, flush, fsync).
- `thread_loader`: glue that reads one stored thread (with fork lineage) from the data dir.
- `session_index`: the thread-name index `session_index.jsonl`.
"""
