"""The figures table in the index: written with each source, replaced and deleted with it."""

from __future__ import annotations

from rag.store import open_reader, store_writer
from tests.conftest import SEED_FILES


def test_index_reader_facts_holds_rows_of_every_source(settings):
    facts = open_reader(settings).facts()
    assert {f.source_file for f in facts} == set(SEED_FILES)


def test_index_reader_facts_filters_by_indicator_place_and_period(settings):
    reader = open_reader(settings)
    assert "1324.9亿元" in [f.text for f in reader.facts(indicator="规上工业增加值", place="湖州")]
    jinhua = reader.facts(place="金华")
    assert jinhua and all(f.owner == "金华" for f in jinhua)
    assert "5129亩" in [f.text for f in reader.facts(period="2013")]
    assert "5129亩" not in [f.text for f in reader.facts(period="2014")]
    one = reader.facts(article_ids=[jinhua[0].article_id])
    assert {f.article_id for f in one} == {jinhua[0].article_id}


def test_index_writer_delete_source_removes_its_rows(settings):
    with store_writer(settings) as writer:
        writer.delete_source("003_5f0dfba9933f395f.txt")
    facts = open_reader(settings).facts()
    assert facts and not any(f.source_file == "003_5f0dfba9933f395f.txt" for f in facts)
