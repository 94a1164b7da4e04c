"""Query embeddings kept in memory, least recently used out first: a repeated question is not embedded again.

    embedder = QueryCache(inner, size=1024)      # RAG_QUERY_CACHE_SIZE; 0 passes every call through
    embedder.embed_query("湖州5G基站有多少个？")     # embedded
    embedder.embed_query("湖州5G基站有多少个？")     # from memory

Keyed by (model id, kind, text). The service keeps one per open index build (rag.api.state.Build), so a new build
starts with an empty cache. Passages are not cached here: ingest has its own cache on disk (rag.embedding.cache).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from rag.embedding.base import Embedder, Kind

CacheKey = tuple[str, Kind, str]


class QueryCache(Embedder):
    """Thread-safe. Embeds what it does not hold in one call to the inner embedder, outside its lock."""

    def __init__(self, inner: Embedder, size: int) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.batch_size = inner.batch_size
        self.size = size
        self.hits = 0
        self.misses = 0
        self._vectors: OrderedDict[CacheKey, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if self.size == 0 or kind != "query":
            return self.inner.embed_batch(texts, kind)
        keys: list[CacheKey] = [(self.model_id, kind, text) for text in texts]
        found = self._lookup(keys)
        missing = [i for i, vector in enumerate(found) if vector is None]
        if missing:
            embedded = np.asarray(self.inner.embed_batch([texts[i] for i in missing], kind), dtype=np.float32)
            self._store([keys[i] for i in missing], embedded)
            for row, i in enumerate(missing):
                found[i] = embedded[row]
        return np.vstack([vector for vector in found if vector is not None]).reshape(len(texts), self.dim)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._vectors)

    def _lookup(self, keys: list[CacheKey]) -> list[np.ndarray | None]:
        found: list[np.ndarray | None] = []
        with self._lock:
            for key in keys:
                vector = self._vectors.get(key)
                if vector is not None:
                    self._vectors.move_to_end(key)
                    self.hits += 1
                else:
                    self.misses += 1
                found.append(vector)
        return found

    def _store(self, keys: list[CacheKey], vectors: np.ndarray) -> None:
        with self._lock:
            for key, vector in zip(keys, vectors, strict=True):
                kept = vector.copy()
                kept.flags.writeable = False  # shared by every request that asks the same question
                self._vectors[key] = kept
                self._vectors.move_to_end(key)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
