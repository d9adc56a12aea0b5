"""Tests of the rollout store's read side (files, reader, history fold, paging, name index)."""
