"""The default of every config key that has one, as named constants.

They live here, at the bottom of the layers, because the typed model (`keys.py`) applies them and
the code that uses a key (threads, agent, store) must agree with it without importing upward.
"""

from __future__ import annotations

from typing import Literal

from protocol.types import SandboxMode

DEFAULT_MODEL = "gpt-5.1-codex"
"""`model` when none is configured (0.169's default for API-key users)."""

DEFAULT_MODEL_PROVIDER = "openai"
"""`model_provider` when none is configured, as in codex."""

DEFAULT_APPROVAL_POLICY: Literal["on-request"] = "on-request"
"""`approval_policy` when none is configured: run sandboxed, ask when the model wants out."""

DEFAULT_SANDBOX_MODE: SandboxMode = "read-only"
"""`sandbox_mode` when none is configured: nothing is writable until the user says so."""

DEFAULT_WIRE_API: Literal["responses"] = "responses"
"""`model_providers.<id>.wire_api` when a table leaves it out."""

DEFAULT_REQUEST_MAX_RETRIES = 4
"""`model_providers.<id>.request_max_retries`: codex's retry budget for a failed request."""

DEFAULT_STREAM_MAX_RETRIES = 5
"""`model_providers.<id>.stream_max_retries`: codex's budget for reconnecting a broken stream."""

DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000
"""`model_providers.<id>.stream_idle_timeout_ms`: a stream silent this long counts as broken."""

DEFAULT_MAX_SAMPLING_STEPS = 200
"""`max_sampling_steps`: sampling requests one turn may make before it is stopped. A runaway tool
loop costs money and time; 200 is far above any sensible task."""

DEFAULT_APPROVAL_TIMEOUT_SECONDS = 600.0
"""`approval_timeout_seconds`: how long a server request waits for an answer before it counts as
unanswered (0 waits forever). A turn waiting on an approval holds its process slots and its place
in the thread; ten minutes covers a person reading a diff, not a client that crashed without
closing its connection."""

DEFAULT_IDLE_THREAD_UNLOAD_SECONDS = 30 * 60.0
"""`idle_thread_unload_seconds`: a loaded thread with no subscribers and no running turn is
unloaded after this long (PROTOCOL.md §5); it holds its writer lock and its history in memory
until then."""

DEFAULT_AGENTS_MAX_THREADS = 3
"""`agents.max_threads`: sub-agents of one session tree that may run a turn at the same time
(0.169's default; with the root that makes four). Each running agent holds a model stream, its
tools' processes and its history in memory; a spawn or follow-up beyond it is refused."""

DEFAULT_AGENTS_MAX_DEPTH = 1
"""`agents.max_depth`: how deep agents may nest (the root's children are at depth 1; 0.169's
default lets only the root spawn). Deeper trees multiply running agents and copies of inherited
history (each forked child stores one)."""

DEFAULT_MIN_WAIT_TIMEOUT_MS = 10_000
"""`agents.min_wait_timeout_ms`: 0.169's floor for `wait_agent` (tests lower it): shorter waits
would have the model poll in a busy loop, paying a sampling step each time."""

DEFAULT_ROLLOUT_MIN_AGE_DAYS = 7.0
"""`rollout_compression.min_age_days`: a rollout not modified for this long is cold. A compressed
thread costs a full decompression the next time it is resumed, so only threads unlikely to be
resumed soon are compressed."""

DEFAULT_MCP_STARTUP_TIMEOUT_SEC = 10.0
"""`mcp_servers.<name>.startup_timeout_sec`: how long a server may take to start and list its
tools before it is reported `failed` and skipped (codex's default)."""

DEFAULT_MCP_TOOL_TIMEOUT_SEC = 60.0
"""`mcp_servers.<name>.tool_timeout_sec`: how long one tool call may run before its item fails
and the turn goes on (codex's default)."""
