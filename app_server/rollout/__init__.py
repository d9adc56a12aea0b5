"""The rollout file format: codex 0.169's history JSONL, in one package (STORAGE.md §2, §3).

Pure code, no I/O: the store reads and writes the files (`store/local/`), this package says what
the lines are. Writer and reader live side by side so they cannot drift apart, and every other
package builds and reads lines only through it.

Shapes (static types, free at run time):
- `lines`: one `TypedDict` per line kind we write, `HistoryMode`, `JsonObject`, `StoredLine` (a
  line as a file holds it, passed through verbatim); `events`: `event_msg` payloads; `items`:
  codex's core TurnItems; `envelope`: timestamp/ordinal wrapping and timestamp format.

Writing (what the agent and the thread manager call instead of assembling dicts, so every line
we write has one definition, in codex 0.169's shapes and key order, readable by codex and by our
own reader):
- `turn_lifecycle`: a turn's start, each response's token usage, its end or interruption;
  `settings_lines`: `turn_context` and `thread_settings_applied`; `model_lines`: `response_item`
  and the other lines the model's history is rebuilt from (`compacted`, `world_state`);
  `item_events`: a finished item's `item_completed` (paginated) or legacy event;
  `thread_events`: goal and rollback records; `core_items`: core items and their legacy events;
  `session_meta`: a rollout's first line and its fork/spawn lineage.

Reading (a fold over already-parsed lines; resumable, so the same code serves full reads,
incremental index upkeep and paging from the end of huge files):
- `history`: `HistoryFold`, rollout lines → metadata + turns, with paginated-fork lineage;
- `thread_metadata`: what the index row needs; `turn_builder`: the Turn/ThreadItem view, with
  `item_mapping` (paginated core items), `legacy_items` (legacy events) and `wire_values`
  (value conversions); `history_index`: turn starts and searchable messages;
- `model_history`: what a resumed thread sends the model, with `compacted_history`,
  `context_windows` and `world_state`; `turn_entry`: one folded turn.
"""
