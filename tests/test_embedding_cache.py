"""PassageVectors: the real bundled embedder behind a cache that embeds each text once."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from rag.config import Settings
from rag.embedding import Embedder, Kind, get_embedder
from rag.embedding.cache import PassageVectors

TEXTS = ["截至5月底，建设5G基站773个。", "全市实现规上工业增加值1324.9亿元。", "湖州新增绿道44公里。"]


class Counting(Embedder):
    """The bundled embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.model_id, self.dim, self.batch_size = inner, inner.model_id, inner.dim, inner.batch_size
        self.texts: list[str] = []
        self._lock = threading.Lock()

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        with self._lock:
            self.texts += texts
        return self.inner.embed_batch(texts, kind)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return get_embedder(Settings())


def test_cached_vectors_are_the_embedders_and_each_text_is_embedded_once(embedder: Embedder) -> None:
    counting = Counting(embedder)
    cache = PassageVectors(counting)

    first = cache.embed(TEXTS[:2])
    second = cache.embed([TEXTS[1], TEXTS[2], TEXTS[1]])

    np.testing.assert_allclose(first, embedder.embed_passages(TEXTS[:2]), atol=1e-6)
    np.testing.assert_allclose(second, embedder.embed_passages([TEXTS[1], TEXTS[2], TEXTS[1]]), atol=1e-6)
    assert counting.texts == [TEXTS[0], TEXTS[1], TEXTS[2]]


def test_the_least_recently_used_text_goes_first(embedder: Embedder) -> None:
    counting = Counting(embedder)
    cache = PassageVectors(counting, size=2)

    cache.embed(TEXTS[:2])
    cache.embed([TEXTS[0]])  # now TEXTS[1] is the least recently used
    cache.embed([TEXTS[2]])
    cache.embed([TEXTS[0], TEXTS[1]])

    assert len(cache) == 2
    assert counting.texts == [TEXTS[0], TEXTS[1], TEXTS[2], TEXTS[1]]


def test_no_texts_give_an_empty_matrix(embedder: Embedder) -> None:
    assert PassageVectors(embedder).embed([]).shape == (0, embedder.dim)
