"""The rollout file format: codex 0.169's history JSONL, in one package (STORAGE.md §2, §3).

Pure code, no I/O: the store reads and writes the files (`store/local/`), this package says what
the lines mean. Both directions live here so writer and reader cannot drift apart.

Reading (a fold over already-parsed lines; resumable, so the same code serves full reads,
incremental index upkeep and paging from the end of huge files):
- `history`: `HistoryFold`, rollout lines → metadata + turns, with paginated-fork lineage;
- `thread_metadata`: what the index row needs; `turn_builder`: the Turn/ThreadItem view, with
  `item_mapping` (paginated core items), `legacy_items` (legacy events) and `wire_values`
  (value conversions); `history_index`: turn starts and searchable messages;
- `model_history`: what a resumed thread sends the model, with `compacted_history`,
  `context_windows` and `world_state`; `turn_entry`: one folded turn.
"""
