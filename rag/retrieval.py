"""Find the passages that answer a question: dense (embeddings, cross-lingual) and BM25 (words).

    passages = dense_search(index, embedder, "截至5月底湖州建了多少个5G基站", k=5)
    passages = bm25_search(index, "规上工业增加值 1324.9", k=5)
"""

from __future__ import annotations

from typing import Literal

from rag.bm25 import match_query
from rag.embedding import Embedder
from rag.models import Article, Passage
from rag.store import IndexReader

SearchMode = Literal["dense", "bm25"]


def dense_search(index: IndexReader, embedder: Embedder, question: str, k: int) -> list[Passage]:
    index.check_embedder(embedder.model_id, embedder.dim)
    hits = index.dense(embedder.embed_query(question), k)
    return _passages(index, hits)


def bm25_search(index: IndexReader, question: str, k: int) -> list[Passage]:
    match = match_query(question)
    return _passages(index, index.bm25(match, k)) if match else []


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
