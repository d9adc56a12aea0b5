"""Splitting shell scripts into word-only commands (`shell_words`), checked against the
hand-written splitter it replaced long ago, and now held to codex's tree-sitter rules
(codex's own cases are in `test_shell_words_codex.py`).

`_pre_refactor_word_only_commands` below is a frozen copy of the first splitter; the property
tests hold the tree-sitter one to it over generated scripts. Since the move to codex's rules
(tree-sitter-bash, words as written), the comparison runs on scripts without backslashes and
carriage returns (codex keeps escapes in words and reads `\\r` as blank), and these
disagreements are allowed (each kind has an example test below):

- a connector right after a newline or `;` (`ls` newline `&& pwd`, `ls; ; pwd`): bash and
  codex's tree-sitter parse reject these as syntax errors;
- a first word that reads as `NAME=…` once unquoted, quoted or not (`A='b' ls`, `"A=b" ls`):
  bash runs some as assignments, codex refuses them, and the rest would name a command
  with `=` in its name;
- a command name that is not one bare tree-sitter `word` (quoted, a number, concatenated
  pieces) and an empty concatenation (`''""`): codex refuses them;
- a reserved word that opens nothing (`fi`, `done`, `}`): tree-sitter-bash reads it as a
  command name, and codex accepts it.
"""

from __future__ import annotations

import re
import shlex

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app_server.agent.tools.exec.shell_words import first_word, split_words, word_only_commands

Split = tuple[list[list[str]], list[str]]

DIFFERENTIAL_SETTINGS = settings(max_examples=1000, deadline=None)
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)


# --- The pre-refactor reference: a frozen copy, do not change --------------------------------

_OLD_RESERVED_FIRST_WORDS = frozenset(
    {
        "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case",
        "esac", "function", "select", "time", "coproc", "!", "{", "}", "[[", "]]", "[",
    }
)  # fmt: skip
_OLD_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")


def _pre_refactor_word_only_commands(script: str) -> Split | None:
    """PRE-REFACTOR REFERENCE (oracle): `shell_words.word_only_commands` as it was before it
    was rebuilt on `shlex`, copied verbatim. Only the property tests use it."""
    commands: list[list[str]] = []
    tokens: list[str] = []
    current: list[str] = []
    word: list[str] = []
    in_word = False
    word_quoted = False  # the word has a quoted part (then `A=b` is not an assignment)
    expect_command = False  # a connector was seen and needs a command after it

    def end_word() -> bool:
        nonlocal in_word, word_quoted
        if in_word:
            text = "".join(word)
            if not current and not word_quoted and _OLD_ASSIGNMENT.match(text):
                return False
            current.append(text)
            tokens.append(text)
            word.clear()
            in_word = False
            word_quoted = False
        return True

    def end_command(connector: str | None) -> bool:
        nonlocal expect_command
        if not end_word():
            return False
        if current:
            if current[0] in _OLD_RESERVED_FIRST_WORDS:
                return False
            commands.append(list(current))
            current.clear()
            expect_command = False
        elif connector is not None and connector != ";" and not commands:
            return False  # leading `&&` / `|`
        elif connector is not None and expect_command:
            return False  # `a && && b`
        if connector is not None:
            tokens.append(connector)
            expect_command = connector != ";"
        return True

    i = 0
    n = len(script)
    while i < n:
        c = script[i]
        if c in " \t":
            if not end_word():
                return None
            i += 1
        elif c == "\n":
            if not end_command(None):
                return None
            i += 1
        elif c == "'":
            end = script.find("'", i + 1)
            if end < 0:
                return None
            word.append(script[i + 1 : end])
            in_word = True
            word_quoted = True
            i = end + 1
        elif c == '"':
            i += 1
            word_quoted = True
            while True:
                if i >= n:
                    return None
                ch = script[i]
                if ch == '"':
                    i += 1
                    break
                if ch in "$`":
                    return None
                if ch == "\\" and i + 1 < n and script[i + 1] in '"\\$`\n':
                    if script[i + 1] != "\n":
                        word.append(script[i + 1])
                    i += 2
                    continue
                word.append(ch)
                i += 1
            in_word = True
        elif c == "\\":
            if i + 1 >= n:
                return None
            if script[i + 1] != "\n":
                word.append(script[i + 1])
                in_word = True
            i += 2
        elif c == "&":
            if script.startswith("&&", i):
                if not end_command("&&"):
                    return None
                i += 2
            else:
                return None
        elif c == "|":
            if script.startswith("||", i):
                if not end_command("||"):
                    return None
                i += 2
            elif script.startswith("|&", i):
                return None
            else:
                if not end_command("|"):
                    return None
                i += 1
        elif c == ";":
            if script.startswith(";;", i) or not end_word() or (not current and not commands):
                return None
            if not end_command(";"):
                return None
            i += 1
        elif c in "<>()`$" or (c == "#" and not in_word):
            return None
        else:
            word.append(c)
            in_word = True
            i += 1
    if not end_command(None) or expect_command:
        return None
    return commands, tokens


# --- Generated scripts -------------------------------------------------------------------------

_WORD_CHARS = "abcxyz019-._/*?~=%@,+:{}[]!#^é中\r\u00a0"
_QUOTED_CHARS = "ab $`\"\\\n&|;<>()#*'{}é"
_SEPARATORS = [" ", " ", "\t", "\n", "  ", "\\\n", "\r"]
_OPERATORS = [
    "&&", "||", "|", ";", ";;", "&", "|&", ">", ">>", "<", "<<", "<<<", "2>&1", "&>", "(", ")",
    "\n", "\n\n", ";\n", "&&\n", "|\n", "\\\n", "&\\\n&", "|\\\n|", ";\\\n;", "#", "{", "}", "!",
]  # fmt: skip
_SUBSTITUTIONS = ["$(ls)", "${HOME}", "$HOME", "$1", "`ls`", "$((1+1))", "<(ls)", "$'a'", "$"]
_DOUBLE_QUOTED_PARTS = [
    '\\"', "\\\\", "\\$", "\\`", "\\\n", "\\a", "$x", "`x`", "'", "&&", "|", ";", "#", " ", "\n",
]  # fmt: skip
_RESERVED = ["if", "then", "fi", "for", "do", "done", "{", "}", "[[", "[", "!", "time"]

bare_words = st.text(alphabet=_WORD_CHARS, min_size=1, max_size=4)
single_quoted = st.text(alphabet=_QUOTED_CHARS.replace("'", ""), max_size=4).map(
    lambda text: f"'{text}'"
)
double_quoted = st.lists(
    st.one_of(
        st.sampled_from(_DOUBLE_QUOTED_PARTS),
        st.text(alphabet=_QUOTED_CHARS.replace('"', "").replace("\\", ""), max_size=3),
    ),
    max_size=3,
).map(lambda parts: '"' + "".join(parts) + '"')
escapes = st.sampled_from(_QUOTED_CHARS + "a ").map(lambda char: "\\" + char)
word_pieces = st.one_of(
    bare_words,
    single_quoted,
    double_quoted,
    escapes,
    st.sampled_from(_RESERVED),
    st.sampled_from(["A=b", "X+=1", "_y=", "A='b'", '"A=b"', "A\\=b"]),
)
words = st.lists(word_pieces, min_size=1, max_size=3).map("".join)
fragments = st.one_of(
    words,
    words,
    st.sampled_from(_OPERATORS),
    st.sampled_from(_SUBSTITUTIONS),
    st.sampled_from(_SEPARATORS),
    st.sampled_from(["'unterminated", '"unterminated', "\\"]),
)
arbitrary_scripts = st.lists(fragments, max_size=10).map("".join)
"""Anything: fragments run together, so quotes, escapes and operators meet in every way."""

commands = st.lists(words, min_size=1, max_size=4).map(" ".join)
_JOINS = [" && ", " || ", " | ", "; ", "\n", "&&", "|", ";", " &&\\\n  ", " \\\n| "]
_NOT_JOINS = [" & ", "&", " |& ", " ;; ", " > ", " 2>&1 | ", " <(", "\n&& ", "; ; ", " &\\\n& "]
connectors = st.sampled_from([*_JOINS, *_NOT_JOINS])
"""Connectors, and things between commands that are not (or not where they stand)."""
chains = st.tuples(commands, st.lists(st.tuples(connectors, commands), max_size=3)).map(
    lambda chain: chain[0] + "".join(connector + command for connector, command in chain[1])
)
"""Mostly well-formed chains of commands, so that accepted scripts are common too."""

scripts = st.one_of(arbitrary_scripts, chains)


def _explained_refusal(script: str, old: Split) -> bool:
    """Whether a script the old splitter accepted and the new one refuses is one of the
    cases where the old splitter was wrong (module docstring)."""
    connector_without_command = re.search(r"[;\n](?:[ \t\n]|\\\n)*(?:&&|\|\||\||;)", script)
    reads_as_assignment = any(_OLD_ASSIGNMENT.match(command[0]) for command in old[0])
    return bool(connector_without_command) or reads_as_assignment


_PLAIN_COMMAND_NAME = re.compile(r"[a-z][a-z0-9._/-]*")
"""A command name that tree-sitter-bash reads as one bare `word` in any context."""
_QUOTED_COMMAND_NAME = re.compile(r"(?:^|[;&|\n])[ \t\n]*[^ \t\n;&|]*['\"]")
"""A quote inside a command's first word (or an empty first word)."""
_EMPTY_CONCATENATION = re.compile(r"(?:''|\"\")(?:''|\"\")")
"""Empty quotes run together (`''""`): codex refuses a concatenation that joins into nothing."""


def _explained_codex_refusal(script: str, old: Split) -> bool:
    """Old refusals, plus codex's rule that a command name is one bare tree-sitter `word` (not
    quoted, not a number, not a piece of a concatenation: `0#0`, `}}`, `?中`) and its refusal
    of an empty concatenation."""
    unusual_name = any(not _PLAIN_COMMAND_NAME.fullmatch(command[0]) for command in old[0])
    quoted_name = _QUOTED_COMMAND_NAME.search(script)
    empty_concatenation = _EMPTY_CONCATENATION.search(script) and any(
        "" in command for command in old[0]
    )
    return (
        _explained_refusal(script, old)
        or unusual_name
        or bool(quoted_name)
        or bool(empty_concatenation)
    )


def _explained_codex_acceptance(new: Split) -> bool:
    """tree-sitter-bash reads a reserved word that opens nothing (`fi`, `done`, `}`, `time`)
    as a command name, and codex accepts it; the old splitter refused reserved first words."""
    # It even reads `} {` and `] ]` as one word.
    return any(command[0].split(" ")[0] in _OLD_RESERVED_FIRST_WORDS for command in new[0])


def _without_escapes(script: str) -> str:
    """The script without backslashes and carriage returns: where the old splitter (bash's
    unescaping) and codex (words as written, `\\r` blank) are meant to read the same words."""
    return script.replace("\\", "").replace("\r", "")


@DIFFERENTIAL_SETTINGS
@given(scripts.map(_without_escapes))
@example("a\n&& b")
@example("A='b' ls")
@example("'cat' x")
@example("fi")
def test_the_tree_sitter_splitter_agrees_with_the_pre_refactor_one(script: str) -> None:
    # Was `test_the_shlex_splitter_agrees_with_the_pre_refactor_one` on all scripts. Codex
    # keeps backslash escapes in words and reads `\r` as blank, so scripts are compared
    # without them; its command-name rule and reserved words add explained differences.
    old = _pre_refactor_word_only_commands(script)
    new = word_only_commands(script)
    if new == old:
        return
    if old is None:
        assert new is not None
        assert _explained_codex_acceptance(new), "an unexplained new acceptance"
    elif new is None:
        assert _explained_codex_refusal(script, old), "an unexplained new refusal"
    else:
        # tree-sitter-bash reads `] ]` and `} {` as one word; nothing else may change a word.
        assert "]" in script or "}" in script, "the same script read as different words"


@PROPERTY_SETTINGS
@given(scripts)
def test_requoting_the_words_gives_the_same_commands(script: str) -> None:
    split = word_only_commands(script)
    if split is None:
        return
    commands = split[0]
    # Command names stay as written: codex refuses a quoted one (a bare word is its text). A
    # few read as one only in context (`\\ A=b` names `A=b`, which alone assigns): skipped.
    if any(word_only_commands(command[0]) != ([command[:1]], command[:1]) for command in commands):
        return
    # Joined by `; `, not newlines: tree-sitter-bash (so codex) glues a line that starts with
    # a backslash to the line before (`x` newline `\\a` is one command, `x` with `\n\\a`).
    requoted = "; ".join(
        " ".join([command[0], *(shlex.quote(word) for word in command[1:])]) for command in commands
    )
    tokens = [token for command in commands for token in (*command, ";")][:-1]
    assert word_only_commands(requoted) == (commands, tokens)


@PROPERTY_SETTINGS
@given(scripts)
def test_the_tokens_are_the_words_in_order_with_connectors_among_them(script: str) -> None:
    split = word_only_commands(script)
    if split is None:
        return
    commands, tokens = split
    assert all(commands), "an empty command"
    remaining = iter(word for command in commands for word in command)
    expected = next(remaining, None)
    for token in tokens:
        if token == expected:
            expected = next(remaining, None)
        else:
            assert token in {"&&", "||", "|", ";"}
    assert expected is None


# --- Examples, one behaviour each ---------------------------------------------------------------


def test_plain_words_are_one_command() -> None:
    assert word_only_commands("ls -la src") == ([["ls", "-la", "src"]], ["ls", "-la", "src"])


def test_connectors_split_commands_and_stay_in_the_tokens() -> None:
    assert word_only_commands("a && b || c | d; e") == (
        [["a"], ["b"], ["c"], ["d"], ["e"]],
        ["a", "&&", "b", "||", "c", "|", "d", ";", "e"],
    )


def test_connectors_need_no_spaces_around_them() -> None:
    assert word_only_commands("a&&b|c;d") == (
        [["a"], ["b"], ["c"], ["d"]],
        ["a", "&&", "b", "|", "c", ";", "d"],
    )


def test_a_newline_separates_commands_without_a_token() -> None:
    assert word_only_commands("ls\npwd\n") == ([["ls"], ["pwd"]], ["ls", "pwd"])


def test_a_newline_may_follow_a_connector() -> None:
    assert word_only_commands("ls &&\n\npwd") == ([["ls"], ["pwd"]], ["ls", "&&", "pwd"])


def test_a_trailing_semicolon_is_kept_as_a_token() -> None:
    assert word_only_commands("ls;") == ([["ls"]], ["ls", ";"])


def test_an_empty_script_has_no_commands() -> None:
    assert word_only_commands(" \n ") == ([], [])


def test_single_quotes_keep_everything_literal() -> None:
    assert split_words("echo '$HOME `x` \\ \" #'") == ["echo", '$HOME `x` \\ " #']


def test_double_quotes_keep_spaces_and_operators() -> None:
    assert split_words('rg "a b|c && d;" src') == ["rg", "a b|c && d;", "src"]


def test_double_quoted_text_keeps_its_backslashes_like_codex() -> None:
    # Was `test_double_quote_escapes_are_bashs` (expected `" \\ $ ` \\a`): codex strips the
    # quotes of a tree-sitter `string` and keeps its content as written, escapes included.
    assert split_words('echo "\\" \\\\ \\$ \\` \\a"') == ["echo", '\\" \\\\ \\$ \\` \\a']


def test_quoted_parts_join_into_one_word() -> None:
    assert split_words("rg -g'*.py' \"a\"'b'c") == ["rg", "-g*.py", "abc"]


def test_an_empty_quoted_word_is_a_word() -> None:
    assert split_words("echo '' \"\"") == ["echo", "", ""]


def test_a_quoted_operator_is_a_plain_word() -> None:
    assert word_only_commands("echo '&&' \"|\" ';' x") == (
        [["echo", "&&", "|", ";", "x"]],
        ["echo", "&&", "|", ";", "x"],
    )


def test_an_escaped_operator_is_a_plain_word() -> None:
    # The word is `\\;` as written (was `;`): codex reads a `word` node's source text.
    assert split_words("find . -exec cat {} \\;") == ["find", ".", "-exec", "cat", "{}", "\\;"]


def test_a_backslash_escape_stays_in_the_word_like_codex() -> None:
    # Was `test_a_backslash_escapes_the_next_character` (expected `a b`, `$x`, `#y`): the
    # escape still makes one word of `a\\ b` and keeps `$` and `#` literal, but codex keeps
    # the backslash in the word's text.
    assert split_words("cat a\\ b \\$x \\#y") == ["cat", "a\\ b", "\\$x", "\\#y"]


def test_a_line_continuation_joins_lines() -> None:
    assert split_words("rg -n foo \\\n  src") == ["rg", "-n", "foo", "src"]


def test_a_line_continuation_separates_words_like_codex() -> None:
    # Was `test_a_line_continuation_inside_a_word_disappears` (expected `abcd`, `ef`):
    # tree-sitter-bash takes a backslash-newline for blank space, so it ends a bare word, and
    # in double quotes it stays in the text as written.
    assert split_words('ab\\\ncd "e\\\nf"') == ["ab", "cd", "e\\\nf"]


def test_a_line_continuation_in_single_quotes_is_literal() -> None:
    assert split_words("echo 'a\\\nb'") == ["echo", "a\\\nb"]


def test_a_newline_in_quotes_is_part_of_the_word() -> None:
    assert split_words("git commit -m 'a\nb'") == ["git", "commit", "-m", "a\nb"]


def test_a_carriage_return_is_blank_like_codex() -> None:
    # Was `test_a_carriage_return_is_part_of_a_word` (expected `ls\r`): tree-sitter-bash
    # skips `\r` as blank space (so CRLF scripts read like LF ones).
    assert split_words("ls\r") == ["ls"]


def test_a_hash_inside_a_word_is_literal() -> None:
    assert split_words("echo a#b") == ["echo", "a#b"]


def test_glob_characters_are_plain_words() -> None:
    assert split_words("ls *.py src/?/[ab]*") == ["ls", "*.py", "src/?/[ab]*"]


def test_unicode_words_are_words() -> None:
    assert split_words("cat résumé.txt 中文") == ["cat", "résumé.txt", "中文"]


def test_an_assignment_after_the_command_name_is_an_argument() -> None:
    assert split_words("make CC=gcc") == ["make", "CC=gcc"]


@pytest.mark.parametrize(
    "script", ["cat a > b", "cat a>b", "cat < a", "ls >> log", "ls 2>&1", "ls &> x", "cat <<EOF"]
)
def test_a_redirect_makes_a_script_not_word_only(script: str) -> None:
    assert word_only_commands(script) is None


@pytest.mark.parametrize(
    "script",
    ["ls $(rm x)", "ls `rm x`", "cat ${HOME}", "cat $FILE", "cat a$b", "echo $((1+2))", "ls $"],
)
def test_a_substitution_makes_a_script_not_word_only(script: str) -> None:
    assert word_only_commands(script) is None


@pytest.mark.parametrize("script", ['cat "$FILE"', 'echo "a `rm x` b"', 'echo "it\'s $(pwd)"'])
def test_a_substitution_in_double_quotes_makes_a_script_not_word_only(script: str) -> None:
    assert word_only_commands(script) is None


@pytest.mark.parametrize("script", ["(ls)", "ls || (pwd && ls)", "{ ls; }", "cat <(ls)"])
def test_a_subshell_or_group_makes_a_script_not_word_only(script: str) -> None:
    assert word_only_commands(script) is None


@pytest.mark.parametrize("script", ["sleep 1 &", "a & b", "a |& b", "a &&& b"])
def test_background_and_other_operators_make_a_script_not_word_only(script: str) -> None:
    assert word_only_commands(script) is None


@pytest.mark.parametrize("script", ["ls # list", "ls;#x", "# only a comment", "ls\n#x\npwd"])
def test_a_comment_makes_a_script_not_word_only(script: str) -> None:
    assert word_only_commands(script) is None


@pytest.mark.parametrize("script", ["FOO=1 cat x", "X+=1 ls", "ls && A=b", "A="])
def test_an_assignment_makes_a_script_not_word_only(script: str) -> None:
    assert word_only_commands(script) is None


@pytest.mark.parametrize("script", ["if true; then ls; fi", "for x in a; do ls; done", "! ls"])
def test_a_compound_command_makes_a_script_not_word_only(script: str) -> None:
    assert word_only_commands(script) is None


@pytest.mark.parametrize("script", ["echo 'x", 'echo "x', "echo x\\", "echo \"a'b"])
def test_an_unterminated_quote_is_not_word_only(script: str) -> None:
    assert word_only_commands(script) is None


@pytest.mark.parametrize("script", ["&& ls", "; ls", "| wc", "ls &&", "ls |", "ls ||"])
def test_a_connector_at_either_end_is_not_word_only(script: str) -> None:
    assert word_only_commands(script) is None


@pytest.mark.parametrize("script", ["a && && b", "a | | b", "a ;; b", "a && ; b", "a || | b"])
def test_two_connectors_in_a_row_are_not_word_only(script: str) -> None:
    assert word_only_commands(script) is None


@pytest.mark.parametrize("script", ["ls\n&& pwd", "ls\n| wc", "ls\n; pwd", "ls; ; pwd"])
def test_a_connector_after_a_newline_or_semicolon_is_not_word_only(script: str) -> None:
    # The old splitter accepted these; bash and codex's tree-sitter parse reject them.
    assert word_only_commands(script) is None


@pytest.mark.parametrize("script", ["A='b' ls", 'A="b" ls', '"A=b" ls', "'A=b'"])
def test_a_quoted_assignment_is_not_word_only(script: str) -> None:
    # The old splitter took these for commands named `A=b`; bash runs the first two as
    # assignments, and codex refuses all four.
    assert word_only_commands(script) is None


def test_an_operator_split_by_a_line_continuation_is_not_word_only() -> None:
    # Bash reads `&\<newline>&` as `&&`; codex's parse fails, and so does this.
    assert word_only_commands("ls &\\\n& pwd") is None


def test_split_words_needs_exactly_one_command() -> None:
    assert split_words("ls -la") == ["ls", "-la"]
    assert split_words("ls && pwd") is None
    assert split_words("ls > x") is None
    assert split_words("") is None


def test_first_word_is_the_command_name_of_a_single_command() -> None:
    assert first_word("cd src") == "cd"
    assert first_word("cat x") == "cat"


def test_a_quoted_command_name_is_not_word_only_like_codex() -> None:
    # Was `first_word("'cat' x") == "cat"` in the test above: codex refuses a command name
    # that is not a bare tree-sitter `word` (quoted, a number, or concatenated pieces).
    assert first_word("'cat' x") is None
    assert word_only_commands("0 x") is None
    assert first_word("cd src && ls") is None


def test_a_reserved_word_that_opens_nothing_is_a_command_name_like_codex() -> None:
    # The old splitter refused these; tree-sitter-bash reads them as plain commands.
    assert word_only_commands("time ls") == ([["time", "ls"]], ["time", "ls"])
    assert word_only_commands("fi") == ([["fi"]], ["fi"])


def test_an_empty_concatenation_is_not_word_only_like_codex() -> None:
    assert word_only_commands("echo ''\"\"") is None


def test_a_line_starting_with_a_backslash_continues_the_command_before_like_codex() -> None:
    # A tree-sitter-bash quirk codex inherits: bash would run `\rm` as a second command.
    assert word_only_commands("ls\n\\rm x") == ([["ls", "\n\\rm", "x"]], ["ls", "\n\\rm", "x"])


def test_a_lone_surrogate_is_not_word_only() -> None:
    # Valid in a JSON string, not in UTF-8: codex (Rust strings) never sees such a script.
    assert word_only_commands("echo \ud800") is None
