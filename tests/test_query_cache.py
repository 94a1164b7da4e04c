"""The query-embedding cache (rag.embedding.query_cache): a repeated question is embedded once, the oldest entry
goes first when it is full, size 0 turns it off, and the service starts a new one with each index build."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from rag.api.state import AppState
from rag.config import Settings
from rag.embedding import Embedder, Kind, get_embedder
from rag.embedding.query_cache import QueryCache
from rag.pipeline import ingest

QUESTION = "去年湖州规上工业增加值是多少？"


class Counting(Embedder):
    """The bundled embedder, counting the texts it is asked to embed, by kind."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id, self.dim = inner.model_id, inner.dim
        self.embedded: dict[Kind, list[str]] = {"query": [], "passage": []}
        self._lock = threading.Lock()

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        with self._lock:
            self.embedded[kind].extend(texts)
        return self.inner.embed_batch(texts, kind)


def _counting() -> Counting:
    return Counting(get_embedder(Settings()))


def test_a_repeated_query_is_served_from_the_cache_with_the_same_vector() -> None:
    inner = _counting()
    cache = QueryCache(inner, size=8)
    first = cache.embed_query("湖州5G基站")
    again = cache.embed_query("湖州5G基站")
    assert inner.embedded["query"] == ["湖州5G基站"]
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(first, inner.embed_query("湖州5G基站"), atol=1e-6)
    assert (cache.hits, cache.misses) == (1, 1)


def test_a_batch_embeds_only_what_the_cache_lacks_and_keeps_the_order() -> None:
    inner = _counting()
    cache = QueryCache(inner, size=8)
    cache.embed_query("绿道")
    vectors = cache.embed_batch(["基站", "绿道", "白茶"], "query")
    assert inner.embedded["query"] == ["绿道", "基站", "白茶"]
    np.testing.assert_allclose(vectors, inner.inner.embed_batch(["基站", "绿道", "白茶"], "query"), atol=1e-6)


def test_the_least_recently_used_query_goes_first_when_the_cache_is_full() -> None:
    inner = _counting()
    cache = QueryCache(inner, size=2)
    for text in ["一", "二", "一", "三", "一", "二"]:  # 三 pushes out 二, the one used longest ago
        cache.embed_query(text)
    assert inner.embedded["query"] == ["一", "二", "三", "二"]
    assert len(cache) == 2


def test_size_zero_and_passages_pass_through() -> None:
    inner = _counting()
    off = QueryCache(inner, size=0)
    off.embed_query("湖州")
    off.embed_query("湖州")
    on = QueryCache(inner, size=8)
    on.embed_passages(["湖州建设5G基站773个"])
    on.embed_passages(["湖州建设5G基站773个"])
    assert inner.embedded == {"query": ["湖州", "湖州"], "passage": ["湖州建设5G基站773个"] * 2}
    assert len(off) == len(on) == 0


def test_the_service_embeds_a_question_once_per_index_build(settings: Settings) -> None:
    inner = _counting()
    state = AppState(settings, inner, None, None)
    state.refresh()
    try:
        build = state.acquire()
        build.answerer.retrieve(QUESTION, 3)
        build.answerer.retrieve(QUESTION, 3)
        assert inner.embedded["query"] == [QUESTION]
        state.release(build)

        ingest(settings, rebuild=True)  # a new build: the old one's vectors may not be its vectors

        build = state.acquire()
        build.answerer.retrieve(QUESTION, 3)
        build.answerer.retrieve(QUESTION, 3)
        assert inner.embedded["query"] == [QUESTION, QUESTION]
        state.release(build)
    finally:
        state.close()
