"""The text the model gets back from a shell command, in codex 0.169's exact shape.

`format_exec_output` writes the `exec_command` / `write_stdin` tool output (AGENT_LOOP.md §5):

    Chunk ID: 706221
    Wall time: 0.0000 seconds
    Process exited with code 0            (or: Process running with session ID 1000)
    Original token count: 2
    Output:
    touched

Tokens are estimated as ceil(UTF-8 bytes / 4). Output over `max_output_tokens` (default 10000,
i.e. 40000 bytes) keeps its first and last halves around an inline `…N tokens truncated…` marker
and is prefixed with `Warning: truncated output (original token count: T)\nTotal output lines:
L\n\n` (codex's `formatted_truncate_text`). Bytes are decoded as UTF-8 with replacement.
"""

from __future__ import annotations

import secrets

from app_server.agent.tools.exec.terminal_results import ExecChunk, approx_token_count

DEFAULT_MAX_OUTPUT_TOKENS = 10_000
APPROX_BYTES_PER_TOKEN = 4


def generate_chunk_id() -> str:
    """Six random hex digits, like codex's chunk ids."""
    return secrets.token_hex(3)


def decode_output(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def format_exec_output(
    chunk: ExecChunk,
    *,
    max_output_tokens: int | None = None,
    chunk_id: str | None = None,
) -> str:
    """The tool output text for one `start` / `write_stdin` result."""
    text = decode_output(chunk.output)
    return format_exec_response(
        text,
        wall_time_s=chunk.wall_time_s,
        exit_code=chunk.exit_code,
        session_id=chunk.session_id,
        original_token_count=approx_token_count(text),
        max_output_tokens=max_output_tokens,
        chunk_id=chunk_id,
    )


def format_exec_response(
    text: str,
    *,
    wall_time_s: float,
    exit_code: int | None,
    session_id: int | None,
    original_token_count: int | None = None,
    max_output_tokens: int | None = None,
    chunk_id: str | None = None,
) -> str:
    """Codex's unified-exec response text for already-decoded output."""
    max_tokens = DEFAULT_MAX_OUTPUT_TOKENS if max_output_tokens is None else max_output_tokens
    if original_token_count is None:
        original_token_count = approx_token_count(text)
    sections = [
        f"Chunk ID: {chunk_id if chunk_id is not None else generate_chunk_id()}",
        f"Wall time: {wall_time_s:.4f} seconds",
    ]
    if exit_code is not None:
        sections.append(f"Process exited with code {exit_code}")
    if session_id is not None:
        sections.append(f"Process running with session ID {session_id}")
    sections.append(f"Original token count: {original_token_count}")
    sections.append("Output:")
    sections.append(formatted_truncate_text(text, max_tokens))
    return "\n".join(sections)


def formatted_truncate_text(text: str, max_tokens: int) -> str:
    """`text` if it fits `max_tokens`; else the head+tail truncation with codex's header."""
    if _utf8_len(text) <= max_tokens * APPROX_BYTES_PER_TOKEN:
        return text
    total_lines = len(text.splitlines())
    return (
        f"Warning: truncated output (original token count: {approx_token_count(text)})\n"
        f"Total output lines: {total_lines}\n\n{truncate_middle(text, max_tokens)}"
    )


def truncate_middle(text: str, max_tokens: int) -> str:
    """Keep the first and last `max_tokens * 2` bytes (on character boundaries) around
    `…N tokens truncated…`, N = ceil(removed bytes / 4) (codex's
    `truncate_middle_with_token_budget`)."""
    max_bytes = max_tokens * APPROX_BYTES_PER_TOKEN
    total_bytes = _utf8_len(text)
    if not text:
        return ""
    if max_bytes == 0:
        return _marker(_tokens_for(total_bytes))
    if total_bytes <= max_bytes:
        return text
    left_budget = max_bytes // 2
    right_budget = max_bytes - left_budget
    tail_start_target = total_bytes - right_budget
    prefix_end = 0  # in characters
    suffix_start = len(text)
    suffix_started = False
    offset = 0
    for index, char in enumerate(text):
        size = _utf8_len(char)
        if offset + size <= left_budget:
            prefix_end = index + 1
        elif offset >= tail_start_target and not suffix_started:
            suffix_start = index
            suffix_started = True
        offset += size
    suffix_start = max(suffix_start, prefix_end)
    removed_tokens = _tokens_for(total_bytes - max_bytes)
    return text[:prefix_end] + _marker(removed_tokens) + text[suffix_start:]


def _marker(tokens: int) -> str:
    return f"…{tokens} tokens truncated…"


def _tokens_for(byte_count: int) -> int:
    return (byte_count + APPROX_BYTES_PER_TOKEN - 1) // APPROX_BYTES_PER_TOKEN


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))
