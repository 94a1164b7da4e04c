"""The embedder interface: one required method, `embed_batch`; the conveniences are built on it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

Kind = Literal["query", "passage"]


class Embedder(ABC):
    """Turns text into L2-normalised float32 vectors (so inner product is cosine similarity).

    >>> vectors = embedder.embed_passages(["湖州建设5G基站773个"])
    >>> scores = vectors @ embedder.embed_query("How many 5G base stations?")
    """

    model_id: str
    dim: int
    batch_size: int = 32
    threads_per_call: bool = False  # embed_batch_threads sets the threads of one call (rag.embedding.cores)
    remote: bool = False  # embeds on another machine: no share of this one's cores to keep to
    concurrency: int = 1  # batches `embed_passages` has in flight at once

    @abstractmethod
    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        """Embed one batch; returns an array of shape (len(texts), dim)."""

    def embed_batch_threads(self, texts: Sequence[str], kind: Kind, threads: int) -> np.ndarray:
        """`embed_batch` on `threads` threads, where the backend can set them per call (`threads_per_call`);
        the others take the threads they were loaded with."""
        return self.embed_batch(texts, kind)

    def embed_passages(self, texts: Sequence[str], on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        batches = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            batches.append(self._normalised(self.embed_batch(batch, "passage")))
            if on_batch is not None:
                on_batch(len(batch))
        vectors: np.ndarray = np.vstack(batches) if batches else np.zeros((0, self.dim), dtype=np.float32)
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self._normalised(self.embed_batch([text], "query"))[0]
        return vector

    def _normalised(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit: np.ndarray = vectors / np.maximum(norms, 1e-12)
        return unit
