"""Thread storage: the rollout files that are the source of truth, and what is derived from them.

- `interface`: the `ThreadStore` contract, its records and errors (no implementation imports).
- `records`: `ThreadRecord`, the metadata of one stored thread (the SQLite index row), and the
  wire `Thread` built from it.
- `turn_pages`: pure paging and item-view selection for `thread/turns/list`.
- `memory`: the contract kept in memory (folds with `app_server.rollout`, like the local store).
- `local`: the codex 0.169 on-disk layout under the data dir (`CODEX_HOME`): rollout files, their
  reader and writer, the SQLite index and `session_index.jsonl`.

What a rollout line means (its shapes and the history fold) is `app_server.rollout`'s business.
"""
