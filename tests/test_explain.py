"""`explain_search`: the lists behind a hybrid search, on the real index."""

from __future__ import annotations

import pytest

from rag.embedding import get_embedder
from rag.explain import explain_search
from rag.retrieval import FusionOptions, hybrid_search
from rag.store import open_reader


@pytest.fixture
def index(settings):
    reader = open_reader(settings)
    yield reader
    reader.close()


def test_explain_search_shows_the_translated_terms_an_english_passage_holds(index, settings):
    question = "How many 5G base stations had Huzhou built by the end of May?"
    explained = explain_search(index, get_embedder(settings), question, k=5, options=FusionOptions())
    assert explained.cross_lingual
    assert explained.weights["bm25"] == 0.0
    top = next(row for row in explained.passages if "建设5G基站773个" in row.passage.text)
    matched = {(t.text, t.origin, t.source) for t in top.matched}
    assert ("基站", "translated", "base stations") in matched
    assert top.ranks["lexicon"] is not None


def test_explain_search_returns_the_hybrid_passages(index, settings):
    embedder = get_embedder(settings)
    question = "去年湖州全市规上工业增加值是多少？"
    explained = explain_search(index, embedder, question, k=5, options=FusionOptions())
    plain = hybrid_search(index, embedder, question, k=5, options=FusionOptions())
    assert [row.passage for row in explained.passages] == plain
    assert all(set(row.ranks) == {"dense", "bm25", "lexicon"} for row in explained.passages)
    first = explained.passages[0]
    assert {t.origin for t in first.matched} >= {"original"}
