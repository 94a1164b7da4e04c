"""Any sentence-transformers model, by local directory or by an id already in the local HF cache.

Nothing is downloaded at run time (`local_files_only`); a model that is not on disk is a clear error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding.base import Embedder, Kind
from rag.errors import ConfigError

# Query/passage prefixes each model family was trained with; others take the text as it is.
_PREFIXES: tuple[tuple[str, dict[Kind, str]], ...] = (
    ("bge-m3", {"query": "", "passage": ""}),
    ("e5", {"query": "query: ", "passage": "passage: "}),
)


def prefixes_for(model: str) -> dict[Kind, str]:
    name = Path(model).name.lower() if Path(model).exists() else model.lower()
    for family, prefixes in _PREFIXES:
        if family in name:
            return prefixes
    return {"query": "", "passage": ""}


def load_offline(kind: str, model: str, setting: str, fix: str) -> Any:
    """A sentence-transformers `SentenceTransformer` or `CrossEncoder` (`kind`) from disk only: nothing is
    downloaded, and a model that is not here is a ConfigError naming `setting` and saying how to `fix` it."""
    try:
        import sentence_transformers
    except ImportError as exc:  # pragma: no cover - it is a dependency; this guards broken installs
        raise ConfigError(f"{setting} needs `pip install sentence-transformers`") from exc
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # transformers is untyped here
    try:
        return getattr(sentence_transformers, kind)(model, device="cpu", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{kind} model {model!r} is not on this machine ({exc.__class__.__name__}); set {setting} to {fix}"
        ) from exc


class SentenceTransformerEmbedder(Embedder):
    def __init__(self, model: str, batch_size: int = 32) -> None:
        self._model = load_offline("SentenceTransformer", model, "RAG_EMBEDDING_MODEL", "a local model directory")
        local = Path(model)
        self.model_id = f"sentence-transformers/{local.resolve() if local.exists() else model}"
        self.dim = int(self._model.get_embedding_dimension())
        self.batch_size = batch_size
        self._prefixes = prefixes_for(model)

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        prefixed = [self._prefixes[kind] + t for t in texts]
        options = {"normalize_embeddings": True, "convert_to_numpy": True, "show_progress_bar": False}
        vectors: np.ndarray = self._model.encode(prefixed, batch_size=self.batch_size, **options)
        return vectors
