"""The index store: one interface (rag.store.base), two backends chosen by `settings.store` (RAG_STORE):
files on disk (rag.store.files, the default) and Milvus (rag.store.milvus).

    with open_store(settings) as index:
        index.articles()
    with store_writer(settings) as writer:
        writer.put_source(record, articles, chunks)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from rag.config import Settings
from rag.store.base import Hits, SourceRecord, Store, StoredChunk, StoreWriter, faiss_id, text_sha
from rag.store.files import (
    DB_NAME,
    FORMAT_VERSION,
    MANIFEST_NAME,
    VECTORS_NAME,
    IndexReader,
    IndexWriter,
    open_index,
    read_manifest,
)

__all__ = [
    "DB_NAME",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "VECTORS_NAME",
    "Hits",
    "IndexReader",
    "IndexWriter",
    "SourceRecord",
    "Store",
    "StoreWriter",
    "StoredChunk",
    "faiss_id",
    "live_build",
    "open_build",
    "open_index",
    "open_reader",
    "open_store",
    "read_manifest",
    "store_manifest",
    "store_writer",
    "text_sha",
]


def live_build(settings: Settings) -> str | None:
    """The build a reader opening now would see (a build folder for files, a build id for Milvus); None: none."""
    if settings.store == "milvus":
        from rag.store.milvus import live_build_id

        return live_build_id(settings)
    if not (settings.index_dir / DB_NAME).exists():
        return None
    return os.path.realpath(settings.index_dir)


def open_build(settings: Settings, build: str) -> Store:
    """A reader of one build named by `live_build`; close it when done."""
    if settings.store == "milvus":
        from rag.store.milvus import MilvusReader

        return MilvusReader(settings, build)
    from pathlib import Path

    return IndexReader(Path(build))


def open_reader(settings: Settings) -> Store:
    """A reader of the live build; raises IndexNotFoundError when there is none."""
    if settings.store == "milvus":
        from rag.store.milvus import MilvusReader

        return MilvusReader(settings)
    return IndexReader(settings.index_dir)


@contextlib.contextmanager
def open_store(settings: Settings) -> Iterator[Store]:
    reader = open_reader(settings)
    try:
        yield reader
    finally:
        reader.close()


def store_writer(settings: Settings, *, rebuild: bool = False) -> StoreWriter:
    """The writer of the next build: use it as `with store_writer(settings) as writer:`."""
    if settings.store == "milvus":
        from rag.store.milvus import MilvusWriter

        return MilvusWriter(settings, rebuild=rebuild)
    return IndexWriter(settings.index_dir, rebuild=rebuild)


def store_manifest(settings: Settings) -> dict[str, Any] | None:
    """The live build's manifest; None when there is no build yet."""
    if settings.store == "milvus":
        from rag.store.milvus import live_manifest

        return live_manifest(settings)
    return read_manifest(settings.index_dir) if settings.index_dir.exists() else None
