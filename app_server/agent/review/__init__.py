"""Code review (`review/start`): targets and prompts, the reviewer's sub-turn, and the records a
review leaves in its thread."""
