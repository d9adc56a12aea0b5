"""`config.toml` edits keep what they do not touch (`app_server.config.edits`)."""

from __future__ import annotations

import pytest
import tomlkit

from app_server.config.edits import ConfigEdit, apply_edits
from app_server.config.problems import ConfigWriteError

SOURCE = '# top\nmodel = "a"  # mine\n\n[model_providers.p]\nname = "P" # the name\n'


def edited(*edits: ConfigEdit) -> str:
    document = tomlkit.parse(SOURCE)
    apply_edits(document, edits)
    return tomlkit.dumps(document)


def test_replacing_a_value_keeps_its_inline_comment() -> None:
    out = edited(ConfigEdit.parse("model", "b", upsert=False))
    assert out == SOURCE.replace('"a"', '"b"')


def test_upsert_merges_into_an_existing_table() -> None:
    out = edited(ConfigEdit.parse("model_providers.p", {"base_url": "u"}, upsert=True))
    assert 'name = "P" # the name\nbase_url = "u"\n' in out


def test_replace_of_a_table_drops_its_other_keys() -> None:
    out = edited(ConfigEdit.parse("model_providers.p", {"base_url": "u"}, upsert=False))
    assert "name" not in out
    assert 'base_url = "u"' in out


def test_a_new_nested_key_creates_its_table() -> None:
    out = edited(ConfigEdit.parse("agents.max_threads", 2, upsert=False))
    assert out.endswith("\n\n[agents]\nmax_threads = 2\n")


def test_null_removes_the_key() -> None:
    out = edited(ConfigEdit.parse("model", None, upsert=False))
    assert "model =" not in out
    assert "[model_providers.p]" in out


def test_a_path_through_a_plain_value_is_refused() -> None:
    with pytest.raises(ConfigWriteError, match="non-table parent"):
        edited(ConfigEdit.parse("model.sub", 1, upsert=False))
