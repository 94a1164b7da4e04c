"""The one store interface retrieval, evidence, facts and answers read, and the one ingest writes.

Two backends implement it: files on disk (rag.store.files: FAISS + SQLite, the embedded default) and Milvus
(rag.store.milvus: Milvus Lite in a local folder, or a Milvus server or cluster). `rag.store.open_store(settings)`
and `rag.store.store_writer(settings)` choose by `settings.store`. A reader sees one complete build for its whole
life; a writer builds the next one aside and switches to it in one step when done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from rag.errors import IndexError_
from rag.facts.models import Fact
from rag.models import Article, Chunk

if TYPE_CHECKING:
    from rag.filters import SearchFilters
    from rag.vectors import IndexType

Hits = list[tuple[int, float]]  # (chunk int id, score), best first


@dataclass(frozen=True)
class SourceRecord:
    source_file: str
    sha256: str
    shape: str
    encoding: str
    n_articles: int
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as stored, with the int64 id the vector index knows it by."""

    int_id: int
    chunk: Chunk
    source_file: str


def faiss_id(chunk_id: str) -> int:
    """Chunk ids are hex digests; their first 60 bits make a positive int64 (FAISS ids, Milvus primary keys)."""
    return int(chunk_id[:15], 16)


def text_sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@runtime_checkable
class Store(Protocol):
    """Read-only view of one complete build."""

    manifest: dict[str, Any]

    @property
    def build_id(self) -> str:
        """Names the build this reader serves (the file store's build folder, Milvus's live build)."""
        ...

    def close(self) -> None: ...

    def check_embedder(self, model_id: str, dim: int) -> None:
        """Raise IndexError_ when the build was embedded by another model: its vectors would be noise."""
        ...

    # --- documents ---
    def sources(self) -> list[SourceRecord]: ...
    def articles(self, source_file: str | None = None) -> list[Article]: ...
    def article(self, article_id: str) -> Article: ...
    def publications(self) -> list[str]: ...
    def chunks(self, int_ids: Iterable[int]) -> dict[int, StoredChunk]: ...
    def chunk_count(self) -> int: ...
    def chunk_counts(self) -> dict[str, int]: ...

    # --- search ---
    def dense(self, query_vector: np.ndarray, k: int, allowed: set[int] | None = None) -> Hits:
        """Chunks nearest the (normalised) query vector by inner product; only `allowed` ids when given."""
        ...

    def bm25(self, match: str, k: int, allowed: set[int] | None = None) -> Hits:
        """BM25 (k1=1.2, b=0.75, FTS5's idf) over the words of an FTS5 OR expression (`rag.bm25.match_query`)."""
        ...

    def weighted_bm25(self, weights: Mapping[str, float], k: int, allowed: set[int] | None = None) -> Hits:
        """BM25 where each word's contribution is scaled by its weight (`rag.bm25.weighted_bm25`)."""
        ...

    def document_frequencies(self, words: Iterable[str]) -> dict[str, int]: ...

    def words_in_chunks(self, words: Iterable[str], int_ids: Iterable[int]) -> dict[int, set[str]]:
        """Which of `words` (BM25 words) each of the chunks holds."""
        ...

    def chunk_ids_matching(self, filters: SearchFilters) -> set[int]:
        """Ids of the chunks whose article passes `filters`: the set retrieval may draw from."""
        ...

    # --- the figures table ---
    def facts(
        self,
        indicator: str | None = None,
        place: str | None = None,
        period: str | None = None,
        article_ids: Iterable[str] | None = None,
    ) -> list[Fact]: ...


class StoreWriter(Protocol):
    """Builds the next version aside (`with writer:`), switching to it on success and discarding it on error."""

    rebuild: bool
    extra_manifest: dict[str, Any]

    def __enter__(self) -> StoreWriter: ...
    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None: ...
    def source_records(self) -> dict[str, SourceRecord]: ...
    def put_source(
        self, record: SourceRecord, articles: Iterable[Article], chunks: Iterable[Chunk], facts: Iterable[Fact] = ()
    ) -> None: ...
    def delete_source(self, source_file: str) -> None: ...
    def chunk_count(self) -> int: ...
    def texts_to_embed(self, model_id: str) -> list[tuple[str, str]]: ...
    def cache_embeddings(self, model_id: str, shas: list[str], vectors: np.ndarray) -> None: ...
    def sync_vectors(self, model_id: str, dim: int, index_type: IndexType) -> None: ...


def check_built_embedder(name: str, manifest: Mapping[str, Any], model_id: str, dim: int) -> None:
    """Vectors from another model are not comparable: refuse a build embedded by one rather than return noise."""
    built = manifest.get("embedder", {})
    if (built.get("model_id"), built.get("dim")) != (model_id, dim):
        raise IndexError_(
            f"{name} was built with embedder {built.get('model_id')} ({built.get('dim')}-d) but the "
            f"settings select {model_id} ({dim}-d); run `rag ingest --rebuild` to re-embed, or set "
            "RAG_EMBEDDER / RAG_EMBEDDING_MODEL back"
        )
