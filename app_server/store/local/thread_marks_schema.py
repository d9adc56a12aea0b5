"""DDL of the per-thread marks in our index (read receipts, goals, metadata patches; see
`thread_marks_db`)."""

from __future__ import annotations

from typing import Final

MARKS_SCHEMA_SQL: Final = """
CREATE TABLE IF NOT EXISTS thread_read_receipts (
  thread_id TEXT PRIMARY KEY NOT NULL,
  first_unread_turn TEXT,
  revision TEXT NOT NULL,
  last_published_turn TEXT
);
CREATE TABLE IF NOT EXISTS thread_goals (
  thread_id TEXT PRIMARY KEY NOT NULL,
  goal_id TEXT NOT NULL,
  objective TEXT NOT NULL,
  status TEXT NOT NULL,
  token_budget INTEGER,
  tokens_used INTEGER NOT NULL DEFAULT 0,
  time_used_seconds INTEGER NOT NULL DEFAULT 0,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS thread_metadata_patches (
  thread_id TEXT PRIMARY KEY NOT NULL,
  git TEXT NOT NULL,
  daybreak_enabled INTEGER
);
"""
"""Idempotent DDL (part of the index schema; an index of the same generation made before these
tables existed gets them at its next open)."""

DELETE_MARKS_SQL: Final = (
    "DELETE FROM thread_read_receipts WHERE thread_id IN (SELECT value FROM json_each(?))",
    "DELETE FROM thread_goals WHERE thread_id IN (SELECT value FROM json_each(?))",
    "DELETE FROM thread_metadata_patches WHERE thread_id IN (SELECT value FROM json_each(?))",
)
"""Run with a JSON array of thread ids when their threads are deleted."""
