"""Thread storage: the rollout files that are the source of truth, and what is derived from them.

- `records`: `ThreadRecord`, the metadata of one stored thread (the future SQLite index row), and
  the wire `Thread` built from it.
- `turn_pages`: pure paging and item-view selection for `thread/turns/list`.
- `local`: the codex 0.169 on-disk layout under the data dir (`CODEX_HOME`): rollout files,
  their reader, the history fold and `session_index.jsonl`.
"""
