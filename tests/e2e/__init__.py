"""End-to-end tests: the real server process over a real pipe or socket."""
