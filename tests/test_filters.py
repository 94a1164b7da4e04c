"""Filters run inside retrieval: dense (a FAISS id selector) and BM25 (a rowid set) draw only from the articles
that pass, so a narrow filter still fills k passages."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from rag.answer import Answerer
from rag.embedding import get_embedder
from rag.filters import SearchFilters
from rag.retrieval import bm25_search, dense_search, fusion_options, hybrid_search
from rag.store import open_reader

QUESTION = "截至5月底湖州建了多少个5G基站"  # answered by an OCR'd page with no publication or date


@pytest.fixture
def index(store_settings):
    reader = open_reader(store_settings)
    yield reader
    reader.close()


def test_filters_publication_fills_k_from_that_publication_only(index, store_settings):
    embedder = get_embedder(store_settings)
    filters = SearchFilters(publication="嘉兴日报")
    unfiltered = dense_search(index, embedder, QUESTION, k=3)
    assert not any(p.publication == "嘉兴日报" for p in unfiltered)  # a filter after the top 3 would leave nothing
    for passages in (
        dense_search(index, embedder, QUESTION, k=3, filters=filters),
        bm25_search(index, "湖州 嘉兴 水运 港口", k=3, filters=filters),
        hybrid_search(index, embedder, QUESTION, 3, fusion_options(store_settings), filters=filters),
    ):
        assert len(passages) == 3
        assert {p.publication for p in passages} == {"嘉兴日报"}


def test_filters_date_range_keeps_only_articles_dated_in_it(index, store_settings):
    embedder = get_embedder(store_settings)
    dated = hybrid_search(index, embedder, "湖州工业投资", 5, fusion_options(store_settings), filters=SearchFilters(
        date_from=date(2025, 9, 1), date_to=date(2025, 9, 30)
    ))  # fmt: skip
    assert dated and {p.date for p in dated} == {"2025-09-03"}
    assert {p.source_file for p in dated} == {"004_90004a5f8ebd7398.txt"}


def test_filters_undated_articles_are_outside_any_date_range(index, store_settings):
    embedder = get_embedder(store_settings)
    passages = hybrid_search(index, embedder, QUESTION, 5, fusion_options(store_settings), filters=SearchFilters(
        date_to=date(2025, 1, 1)
    ))  # fmt: skip
    assert passages == []


def test_filters_source_is_a_file_name(index, store_settings):
    filters = SearchFilters(source="003_5f0dfba9933f395f.txt")
    passages = bm25_search(index, "湖州 数字 产业", k=5, filters=filters)
    assert passages and {p.source_file for p in passages} == {"003_5f0dfba9933f395f.txt"}


def test_filters_date_from_after_date_to_is_refused():
    with pytest.raises(ValidationError, match="after date_to"):
        SearchFilters(date_from=date(2024, 1, 1), date_to=date(2023, 1, 1))


def test_filters_answer_cites_only_articles_that_pass(index, store_settings):
    answerer = Answerer(store_settings, index, get_embedder(store_settings))
    unfiltered = answerer.ask(QUESTION, mode="extractive")
    assert unfiltered.answerable and "773" in unfiltered.answer
    narrowed = answerer.ask(QUESTION, mode="extractive", filters=SearchFilters(publication="金华日报"))
    assert "773" not in narrowed.answer
    assert {c.publication for c in narrowed.citations} <= {"金华日报"}
