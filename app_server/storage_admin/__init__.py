"""`app-server storage report|prune`: offline administration of a data dir's history.

Heavy users accumulate tens of thousands of threads and data dirs of tens of GiB; these commands
say where the bytes are (`report`, read-only, pure file-system stats) and remove old archived
threads (`prune`, a dry run unless `--apply`, deleting through `LocalThreadStore.delete_tree` so
every rule of `thread/delete` holds). Modules:

- `durations`: the `--older-than` grammar (`<n>h`, `<n>d`, `<n>w`) and age formatting;
- `inventory`: one walk of the data dir, classified (rollouts, indexes, temp files, backups…);
- `prune_plan`: which archived threads are old enough and safe to remove (file system only);
- `prune_apply`: carries a plan out through the store;
- `render`: the human-readable tables and the `--json` objects;
- `command`: the command-line options and the glue `app_server.cli` calls.
"""
