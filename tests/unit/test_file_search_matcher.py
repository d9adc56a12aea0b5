"""The file-search matcher and index: scores, indices, and the pruned ranking being exact."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_an_uppercase_query_matches_case_sensitively() -> None:
    assert score("docs/main.md", parse_query("MAIN")) is None
    assert score("docs/MAIN.md", parse_query("MAIN")) is not None
    assert score("docs/MAIN.md", parse_query("main")) is not None


def test_the_shortest_window_is_scored() -> None:
    found = score("m/x/main", parse_query("main"))
    assert found is not None
    assert found[1] == [4, 5, 6, 7]


PATHS = st.lists(
    st.text(alphabet="ab/_.Mc1", min_size=1, max_size=12), min_size=1, max_size=80, unique=True
)


@settings(max_examples=200, deadline=None)
@given(paths=PATHS, query=st.text(alphabet="abMc/", min_size=1, max_size=3))
def test_pruned_ranking_equals_scoring_every_path(paths: list[str], query: str) -> None:
    parsed = parse_query(query)
    index = FileIndex("/r", [Entry(p, False) for p in paths])
    expected = sorted(
        ((found[0], p, found[1]) for p in paths if (found := score(p, parsed)) is not None),
        key=lambda r: (-r[0], r[1]),
    )[:5]
    got = [(m.score, m.path, m.indices) for m in index.search(parsed, limit=5)]
    assert got == expected
