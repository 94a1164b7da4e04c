"""Find the passages that answer a question: dense (embeddings, cross-lingual), BM25 (words and
figures), or both fused.

    passages = hybrid_search(index, embedder, "去年湖州规上工业增加值是多少？", k=5, options=FusionOptions())
    passages = dense_search(index, embedder, "By the end of May, how many 5G base stations?", k=5)
    passages = bm25_search(index, "规上工业增加值 1324.9", k=5)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rag.bm25 import match_query
from rag.config import Settings
from rag.embedding import Embedder
from rag.models import Article, Passage
from rag.store import IndexReader

SearchMode = Literal["dense", "bm25", "hybrid"]


@dataclass(frozen=True)
class FusionOptions:
    """Reciprocal rank fusion: score = sum of weight / (rrf_k + rank) over the lists a chunk is in."""

    candidates: int = 30  # taken from each list before fusing
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    max_per_article: int = 2


def search(
    index: IndexReader, embedder: Embedder, question: str, k: int, mode: SearchMode, options: FusionOptions
) -> list[Passage]:
    if mode == "dense":
        return dense_search(index, embedder, question, k)
    if mode == "bm25":
        return bm25_search(index, question, k)
    return hybrid_search(index, embedder, question, k, options)


def hybrid_search(
    index: IndexReader, embedder: Embedder, question: str, k: int, options: FusionOptions
) -> list[Passage]:
    index.check_embedder(embedder.model_id, embedder.dim)
    dense = index.dense(embedder.embed_query(question), options.candidates)
    match = match_query(question)
    lexical = index.bm25(match, options.candidates) if match else []
    fused: dict[int, float] = {}
    for hits, weight in ((dense, options.dense_weight), (lexical, options.bm25_weight)):
        for rank, (int_id, _) in enumerate(hits, start=1):
            fused[int_id] = fused.get(int_id, 0.0) + weight / (options.rrf_k + rank)
    ranked = sorted(fused.items(), key=lambda pair: pair[1], reverse=True)
    return _diversified(_passages(index, ranked), k, options.max_per_article)


def _diversified(passages: list[Passage], k: int, max_per_article: int) -> list[Passage]:
    """Drop a passage that mostly repeats a better one of the same article. Past `max_per_article`
    from one article, a passage keeps its place only if it is strongly relevant (at least half the
    top fused score, i.e. ranked high by both retrievers); the others fill up the end."""
    kept: list[Passage] = []
    for passage in passages:
        if not any(_mostly_repeats(passage, better) for better in kept):
            kept.append(passage)
    strong = kept[0].score / 2 if kept else 0.0
    per_article: dict[str, int] = {}
    first, overflow = [], []
    for passage in kept:
        per_article[passage.article_id] = per_article.get(passage.article_id, 0) + 1
        within_cap = per_article[passage.article_id] <= max_per_article
        (first if within_cap or passage.score >= strong else overflow).append(passage)
    chosen = (first + overflow)[:k]
    return [p.model_copy(update={"rank": rank}) for rank, p in enumerate(chosen, start=1)]


def dense_search(index: IndexReader, embedder: Embedder, question: str, k: int) -> list[Passage]:
    index.check_embedder(embedder.model_id, embedder.dim)
    hits = index.dense(embedder.embed_query(question), k)
    return _passages(index, hits)


def bm25_search(index: IndexReader, question: str, k: int) -> list[Passage]:
    match = match_query(question)
    return _passages(index, index.bm25(match, k)) if match else []


def _mostly_repeats(passage: Passage, better: Passage) -> bool:
    if passage.article_id != better.article_id:
        return False
    shared = min(passage.end, better.end) - max(passage.start, better.start)
    return shared > 0.5 * (passage.end - passage.start)


def fusion_options(settings: Settings) -> FusionOptions:
    return FusionOptions(
        candidates=settings.retrieval_candidates,
        rrf_k=settings.rrf_k,
        dense_weight=settings.dense_weight,
        bm25_weight=settings.bm25_weight,
        max_per_article=settings.max_passages_per_article,
    )


def _passages(index: IndexReader, hits: list[tuple[int, float]]) -> list[Passage]:
    stored = index.chunks(i for i, _ in hits)
    articles: dict[str, Article] = {}
    passages = []
    for int_id, score in hits:
        found = stored.get(int_id)
        if found is None:  # a vector without a chunk row would be a broken build; never show garbage
            continue
        chunk = found.chunk
        if chunk.article_id not in articles:
            articles[chunk.article_id] = index.article(chunk.article_id)
        article = articles[chunk.article_id]
        passages.append(
            Passage(
                rank=len(passages) + 1,
                score=round(score, 6),
                chunk_id=chunk.id,
                article_id=article.id,
                title=article.display_title,
                publication=article.publication,
                source_file=article.source_file,
                date=article.date,
                text=chunk.text,
                start=chunk.start,
                end=chunk.end,
            )
        )
    return passages
