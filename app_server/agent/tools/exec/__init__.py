"""Running shell commands for the model: processes, the sandbox, sessions and the output text.

- `process`: one-shot processes (own process group, streamed merged output, timeouts and
  cancellation that kill the whole group), the login-shell argv and codex's display string.
- `sandbox`: the bubblewrap command line for `read-only` / `workspace-write` /
  `danger-full-access`.
- `background_terminals`: unified-exec sessions — commands that outlive their yield keep
  running and are polled with `write_stdin`; `terminal_process` is the process under one
  (spawn, output, exit), `yield_time` how long a call waits, `terminal_results` and
  `terminal_errors` what a call returns and raises, `unified_exec_env` the commands' environment.
- `output`: the text the model gets back (codex 0.169 format, truncation).
- `parse_command`: codex's `parsed_cmd` / `commandActions` for a script, built on
  `shell_words` (splitting), `command_summary` (classifying) and `command_operands`.

No protocol or approval logic lives here.

Nothing is imported here: the startup's bubblewrap probe imports `sandbox` alone, in a thread,
while `initialize` is being answered, and must not pull in asyncio with it.
"""
