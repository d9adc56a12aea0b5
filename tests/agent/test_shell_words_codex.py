"""`shell_words` against codex's own cases: the tests of `try_parse_word_only_commands_sequence`
in codex-rs `shell-command/src/bash.rs`, ported as tables (accepted scripts with the words
codex reads, refused scripts), plus the promise that the parser loads only on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app_server.agent.tools.exec.shell_words import word_only_commands

CODEX_ACCEPTED: list[tuple[str, list[list[str]]]] = [
    # accepts_single_simple_command
    ("ls -1", [["ls", "-1"]]),
    # accepts_multiple_commands_with_allowed_operators
    (
        "ls && pwd; echo 'hi there' | wc -l",
        [["ls"], ["pwd"], ["echo", "hi there"], ["wc", "-l"]],
    ),
    # extracts_double_and_single_quoted_strings
    ('echo "hello world"', [["echo", "hello world"]]),
    ("echo 'hi there'", [["echo", "hi there"]]),
    # accepts_double_quoted_strings_with_newlines
    ('git commit -m "line1\nline2"', [["git", "commit", "-m", "line1\nline2"]]),
    # accepts_mixed_quote_concatenation
    ('echo "/usr"\'/\'"local"/bin', [["echo", "/usr/local/bin"]]),
    ("echo '/usr'\"/\"'local'/bin", [["echo", "/usr/local/bin"]]),
    # accepts_numbers_as_words
    ("echo 123 456", [["echo", "123", "456"]]),
    # accepts_concatenated_flag_and_value
    ('rg -n "foo" -g"*.py"', [["rg", "-n", "foo", "-g*.py"]]),
    # accepts_concatenated_flag_with_single_quotes
    ("grep -n 'pattern' -g'*.txt'", [["grep", "-n", "pattern", "-g*.txt"]]),
    # parse_zsh_lc_plain_commands (the script part)
    ("ls", [["ls"]]),
]

CODEX_REFUSED: list[str] = [
    # rejects_double_quoted_strings_with_expansions
    'echo "hi ${USER}"',
    'echo "$HOME"',
    # rejects_parentheses_and_subshells
    "(ls)",
    "ls || (pwd && echo hi)",
    # rejects_redirections_and_unsupported_operators
    "ls > out.txt",
    "echo hi & echo bye",
    # rejects_command_and_process_substitutions_and_expansions
    "echo $(pwd)",
    "echo `pwd`",
    "echo $HOME",
    'echo "hi $USER"',
    # rejects_variable_assignment_prefix
    "FOO=bar ls",
    # rejects_trailing_operator_parse_error
    "ls &&",
    # rejects_empty_command_position_with_leading_operator
    "&& ls",
    # rejects_empty_command_position_with_double_separator
    "ls ;; pwd",
    # rejects_empty_command_position_with_empty_pipeline_segment
    "ls | | wc",
    # rejects_concatenation_with_variable_substitution
    'rg -g"$VAR" pattern',
    'rg -g"${VAR}" pattern',
    # rejects_concatenation_with_command_substitution
    'rg -g"$(pwd)" pattern',
    "rg -g\"$(echo '*.py')\" pattern",
    # heredoc / herestring scripts from the prefix tests: never word-only
    "python3 <<'PY'\nprint('hello')\nPY",
    'python3 <<< "$(rm -rf /)"',
    "echo $((1<<2))",
]


@pytest.mark.parametrize(("script", "commands"), CODEX_ACCEPTED)
def test_codex_accepted_scripts_give_codexs_words(script: str, commands: list[list[str]]) -> None:
    split = word_only_commands(script)
    assert split is not None
    assert split[0] == commands


@pytest.mark.parametrize("script", CODEX_REFUSED)
def test_codex_refused_scripts_are_not_word_only(script: str) -> None:
    assert word_only_commands(script) is None


def test_importing_shell_words_does_not_load_tree_sitter() -> None:
    # A fresh interpreter: this test process has long since loaded the parser.
    probe = (
        "import sys\n"
        "import app_server.agent.tools.exec.parse_command\n"
        "import app_server.server\n"
        "print(sorted(m for m in sys.modules if m.startswith('tree_sitter')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[]"


def test_the_first_split_loads_tree_sitter() -> None:
    probe = (
        "import sys\n"
        "from app_server.agent.tools.exec.shell_words import word_only_commands\n"
        "word_only_commands('ls')\n"
        "print('tree_sitter_bash' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "True"
