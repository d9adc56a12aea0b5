"""The file-search matcher and index: scores, indices, and the pruned ranking being exact."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app_server.file_search import index as index_module
from app_server.file_search.index import FileIndex
from app_server.file_search.matcher import parse_query, score
from app_server.file_search.walk import Entry


def test_a_word_at_a_path_boundary_beats_scattered_letters() -> None:
    query = parse_query("main")
    word = score("src/main.py", query)
    scattered = score("src/m_a_i_n.py", query)
    assert word is not None
    assert scattered is not None
    assert word[0] > scattered[0]
    assert word[1] == [4, 5, 6, 7]


def test_letters_out_of_order_do_not_match() -> None:
    assert score("nima.txt", parse_query("main")) is None


def test_case_is_ignored_as_codex_does() -> None:
    assert score("docs/main.md", parse_query("MAIN")) == score("docs/main.md", parse_query("main"))


# (path, is a directory, query, score, indices) as codex 0.169's `fuzzyFileSearch` answered them.
CODEX_SCORES = [
    ("src/app/main.py", False, "main", 65645, [8, 9, 10, 11]),
    ("docs/MAIN.md", False, "main", 65645, [5, 6, 7, 8]),
    ("src/app/a_m_a_i_n.txt", False, "main", 65631, [10, 12, 14, 16]),
    ("src/myApiName.ts", False, "main", 65622, [4, 6, 8, 9]),
    ("src/app", True, "app", 131156, [4, 5, 6]),
    ("src/app/main.py", False, "app", 84, [4, 5, 6]),
    (".git/hooks/pre-applypatch.sample", False, "app", 65616, [15, 16, 17]),
    ("README.md", False, "rdm", 65602, [0, 3, 4]),
    ("src/app/a_m_a_i_n.txt", False, "an", 65587, [12, 16]),
    ("src/myApiName.ts", False, "an", 65579, [6, 9]),
    (".git/branches", True, "an", 36, [7, 8]),
    ("src/app/a_m_a_i_n.txt", False, "a", 65570, [8]),
    ("src/app/main.py", False, "a", 65552, [9]),
    ("src/app", True, "a", 34, [4]),
    (".git/objects/pack", True, "a", 16, [14]),
    ("src/myApiName.ts", False, "ma", 65588, [4, 6]),
]


@pytest.mark.parametrize(("path", "is_directory", "query", "expected", "indices"), CODEX_SCORES)
def test_scores_equal_codex_where_the_leftmost_window_is_the_best(
    path: str, is_directory: bool, query: str, expected: int, indices: list[int]
) -> None:
    assert score(path, parse_query(query), is_directory=is_directory) == (expected, indices)


def test_the_shortest_window_is_scored() -> None:
    found = score("m/x/main", parse_query("main"))
    assert found is not None
    assert found[1] == [4, 5, 6, 7]


PATHS = st.lists(
    st.text(alphabet="ab/_.Mc1", min_size=1, max_size=12), min_size=1, max_size=80, unique=True
)


@settings(max_examples=200, deadline=None)
@given(
    paths=PATHS,
    directories=st.sets(st.integers(0, 79)),
    query=st.text(alphabet="abMc/", min_size=1, max_size=3),
)
def test_pruned_ranking_equals_scoring_every_path(
    paths: list[str], directories: set[int], query: str
) -> None:
    parsed = parse_query(query)
    kinds = {p: n in directories for n, p in enumerate(paths)}
    index = FileIndex("/r", [Entry(p, kinds[p]) for p in paths])
    expected = sorted(
        (
            (found[0], p, found[1])
            for p in paths
            if (found := score(p, parsed, is_directory=kinds[p])) is not None
        ),
        key=lambda r: (-r[0], r[1]),
    )[:5]
    got = [(m.score, m.path, m.indices) for m in index.search(parsed, limit=5)]
    assert got == expected


WIDE_PATHS = st.lists(
    st.text(alphabet="abAB/_. -c1é", min_size=1, max_size=14), min_size=1, max_size=200, unique=True
)


@settings(max_examples=300, deadline=None)
@given(
    paths=WIDE_PATHS,
    directories=st.sets(st.integers(0, 199)),
    query=st.text(alphabet="abAc1_.-é/", min_size=1, max_size=4),
    limit=st.integers(1, 8),
)
def test_tiered_ranking_equals_scoring_every_path_with_spaces_humps_digits_and_non_ascii(
    paths: list[str], directories: set[int], query: str, limit: int
) -> None:
    """The index ranks in tiers (boundary names, all names, all paths) and trusts exact bounds;
    whatever the characters, it returns what scoring every path and sorting returns."""
    parsed = parse_query(query)
    kinds = {p: n in directories for n, p in enumerate(paths)}
    index = FileIndex("/r", [Entry(p, kinds[p]) for p in paths])
    expected = sorted(
        (
            (found[0], p, found[1])
            for p in paths
            if (found := score(p, parsed, is_directory=kinds[p])) is not None
        ),
        key=lambda r: (-r[0], r[1]),
    )[:limit]
    got = [(m.score, m.path, m.indices) for m in index.search(parsed, limit=limit)]
    assert got == expected


@pytest.mark.parametrize("letter", ["a", "x", "e", "1", "_", ".", "S", "é", "/"])
def test_a_one_character_query_on_a_large_tree_ranks_as_scoring_every_path(letter: str) -> None:
    """One-character queries stop once nothing later can enter (`letters`): on 3,000 paths
    with many ties they return what scoring every path and sorting returns."""
    words = ["src", "Index", "app", "core_1", "util-x", "My Docs", "éa", "data.py", "aXe"]
    paths = sorted(
        {
            f"{words[i % 9]}/{words[(i * 7) % 9]}{i % 13}/{words[(i * 5) % 9]}{i}.txt"
            for i in range(3000)
        }
    )
    entries = [Entry(p, False) for p in paths] + [Entry(p.rsplit("/", 1)[0], True) for p in paths]
    unique = list({e.path: e for e in entries}.values())
    parsed = parse_query(letter)
    index = FileIndex("/r", unique)
    expected = sorted(
        (
            (found[0], e.path, found[1])
            for e in unique
            if (found := score(e.path, parsed, is_directory=e.is_directory)) is not None
        ),
        key=lambda r: (-r[0], r[1]),
    )[:50]
    assert [(m.score, m.path, m.indices) for m in index.search(parsed)] == expected


@settings(max_examples=300, deadline=None)
@given(
    paths=WIDE_PATHS,
    query=st.text(alphabet="abAc1_.-é", min_size=2, max_size=4),
    limit=st.integers(1, 8),
)
def test_the_tightened_boundary_ceiling_keeps_the_ranking_exact(
    paths: list[str], query: str, limit: int
) -> None:
    """A long boundary scan tightens its ceiling (`chain_bonus`) after `TIGHTEN_AFTER`
    windows; tightened at once, the ranking still equals scoring every path."""
    parsed = parse_query(query)
    expected = sorted(
        ((found[0], p, found[1]) for p in paths if (found := score(p, parsed)) is not None),
        key=lambda r: (-r[0], r[1]),
    )[:limit]
    with patch.object(index_module, "TIGHTEN_AFTER", 0):
        index = FileIndex("/r", [Entry(p, False) for p in paths])
        got = [(m.score, m.path, m.indices) for m in index.search(parsed, limit=limit)]
    assert got == expected


@pytest.mark.parametrize(("query", "tighten_after"), [("a", 4096), ("ab", 4096), ("ab", 0)])
def test_an_early_stop_does_not_miss_a_later_path_that_scores_more(
    query: str, tighten_after: int
) -> None:
    """In path order the first name matches after `_` (bonus 8), a later one after a space
    (bonus 10): the ceiling must let the scan reach it."""
    paths = ["a/x_ab.txt", "b/y_ab.txt", "c/z ab.txt"]
    parsed = parse_query(query)
    with patch.object(index_module, "TIGHTEN_AFTER", tighten_after):
        found = FileIndex("/r", [Entry(p, False) for p in paths]).search(parsed, limit=1)
    assert [m.path for m in found] == ["c/z ab.txt"]
