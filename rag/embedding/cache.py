"""Passage vectors kept once computed: the corpus is finite, and the same passages answer question after question.

vectors = PassageVectors(embedder, size=4096)
matrix = vectors.embed(["截至5月底，建设5G基站773个。", ...])   # embeds only the texts it has not seen
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from rag.embedding.base import Embedder


class PassageVectors:
    """`embedder.embed_passages`, remembering the last `size` texts' vectors (least recently used go first).
    Thread-safe; texts missing from the cache are embedded together, outside the lock."""

    def __init__(self, embedder: Embedder, size: int = 4096) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.embedder = embedder
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in texts:
                if text in self._vectors:
                    self._vectors.move_to_end(text)
                    found[text] = self._vectors[text]
        missing = [text for text in dict.fromkeys(texts) if text not in found]
        if missing:
            found.update(zip(missing, self.embedder.embed_passages(missing), strict=True))
            with self._lock:
                for text in missing:
                    self._vectors[text] = found[text]
                    self._vectors.move_to_end(text)
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.vstack([found[text] for text in texts])

    def __len__(self) -> int:
        return len(self._vectors)
