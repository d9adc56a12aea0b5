"""Tests of the rollout format package (`app_server.rollout`): pure, no files or servers."""
