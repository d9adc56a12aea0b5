"""Test suite: unit tests beside end-to-end tests that start the real server process."""
