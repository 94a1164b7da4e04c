"""The Milvus store (rag.store.base's interface) through pymilvus's MilvusClient: Milvus Lite when
RAG_MILVUS_URI is a local path (in-process; `milvus-lite server` serves one folder to several processes), a
Milvus server or cluster when it is http://host:19530.

Every build lives in its own collections, `rag_<index>_b<build>_{chunks,articles,facts,terms,meta}`; one row
of `rag_<index>_live` names the live build, so switching builds is one upsert and a reader never sees half
an index. A writer holds only the sources put in this build in memory; on commit it writes new collections
from the live build's rows of the sources left as they were (read and written a batch at a time, their BM25
weights computed again) and the new sources' rows, then upserts the live row; a crash leaves the previous
build live, and the next writer drops collections no live row names. The build before the live one is kept
until the next build, so replicas still serving it can finish their requests and reload.

BM25 is computed by us, not by Milvus: chunks are cut into words with `rag.bm25.segment` (the file store's
words); each chunk's sparse vector holds, per word id, the BM25 document weight tf*(k1+1)/(tf+k1*(1-b+b*dl/avgdl)),
and a query's sparse vector holds each word's idf (FTS5's for MATCH, weighted_bm25's times the word's weight),
so an inner-product search gives exactly the file store's BM25 scores (to float32). Word ids and document
frequencies sit in the build's `terms` collection. Milvus keys every collection by a vector field: the small
ones carry a 2-d placeholder vector `_v`.

One writer at a time: rag.store.milvus_lock's rows in `rag_<index>_writers`, safe against writers racing.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.bm25 import BM25_B, BM25_K1, segment
from rag.config import Settings
from rag.errors import ArticleNotFoundError, IndexError_, IndexNotFoundError, StoreUnavailableError
from rag.facts.models import Fact
from rag.lexicon.userdict import apply_user_words, words_from_manifest
from rag.models import Article, Chunk
from rag.store.base import Hits, SourceRecord, StoredChunk, check_built_embedder, faiss_id, text_sha
from rag.store.files import FORMAT_VERSION
from rag.store.milvus_lock import WriterLock

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from rag.filters import SearchFilters
    from rag.vectors import IndexType

KINDS = ("chunks", "articles", "facts", "terms", "meta")
PART_CHARS = 16_000  # long texts are split into parts: a Milvus VARCHAR holds at most 65,535 bytes
BATCH = 1000
LIVE_CHECK_S = 1.0  # a replica asks which build is live at most this often
_NO_WORDS = 0  # word id 0 is never queried: it stands in the sparse vector of a chunk without words
_TEXT = 65_535


def collection_prefix(settings: Settings) -> str:
    return "rag_" + re.sub(r"[^A-Za-z0-9_]", "_", settings.index_name)


def is_local(uri: str) -> bool:
    """A path, not a server URI: Milvus Lite in that folder."""
    return not re.match(r"^(https?|tcp|unix|grpc)://", uri)


def connect(settings: Settings, *, create: bool = False) -> MilvusClient:
    """A client of the store's Milvus; StoreUnavailableError naming the URI when it does not answer. A local
    Milvus Lite folder that does not exist is IndexNotFoundError for a reader; a writer (`create`) makes it."""
    from pymilvus import MilvusClient, MilvusException

    # pymilvus warns on every query iterator that Milvus Lite has no MVCC timestamp to give: it needs none.
    # (Set after importing pymilvus, whose logging set-up would reset it.)
    logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
    uri = settings.milvus_location
    if is_local(uri) and not Path(uri).exists():
        if not create:
            raise IndexNotFoundError(uri)
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    try:
        client = MilvusClient(uri=uri, token=token, db_name=settings.milvus_db or "", timeout=10)
        client.list_collections()
    except MilvusException as exc:
        raise StoreUnavailableError(uri, exc.message) from exc
    except Exception as exc:  # pymilvus raises plain errors for some unusable URIs
        raise StoreUnavailableError(uri, str(exc)) from exc
    return client


# --- the live row ------------------------------------------------------------------------------------


def _loaded(client: MilvusClient, name: str) -> None:
    """Collections are searchable once loaded; a restarted server (or another process's) starts them released."""
    from pymilvus.client.types import LoadState

    if client.get_load_state(name)["state"] != LoadState.Loaded:
        client.load_collection(name)


def _live_row(client: MilvusClient, prefix: str) -> dict[str, Any] | None:
    name = f"{prefix}_live"
    if not client.has_collection(name):
        return None
    _loaded(client, name)
    rows = client.get(name, ids=["live"], output_fields=["build", "previous"])
    return dict(rows[0]) if rows else None


_live_seen: dict[tuple[str, str], tuple[float, str | None]] = {}
_live_lock = threading.Lock()


def live_build_id(settings: Settings) -> str | None:
    """The live build's id, asked of Milvus at most once a second per process (every request asks)."""
    key = (settings.milvus_location, collection_prefix(settings))
    with _live_lock:
        seen = _live_seen.get(key)
    if seen is not None and time.monotonic() - seen[0] < LIVE_CHECK_S:
        return seen[1]
    if is_local(key[0]) and not Path(key[0]).exists():
        return None
    client = connect(settings)
    try:
        row = _live_row(client, key[1])
    finally:
        client.close()
    build = str(row["build"]) if row else None
    with _live_lock:
        _live_seen[key] = (time.monotonic(), build)
    return build


def live_manifest(settings: Settings) -> dict[str, Any] | None:
    if is_local(settings.milvus_location) and not Path(settings.milvus_location).exists():
        return None
    client = connect(settings)
    try:
        prefix = collection_prefix(settings)
        row = _live_row(client, prefix)
        return _read_manifest(client, f"{prefix}_b{row['build']}") if row else None
    finally:
        client.close()


def _read_manifest(client: MilvusClient, build: str) -> dict[str, Any]:
    _loaded(client, f"{build}_meta")
    rows = client.query(f"{build}_meta", filter='kind == "manifest"', output_fields=["key", "data"])
    parts = sorted(rows, key=lambda row: int(row["key"].split(":")[1]))
    manifest: dict[str, Any] = json.loads("".join(row["data"] for row in parts))
    return manifest


# --- reading -----------------------------------------------------------------------------------------

_CHUNK_FIELDS = [
    "id", "chunk_id", "article_id", "source_file", "position", "text", "tokens", "start_offset", "end_offset",
    "context", "embed_sha",
]  # fmt: skip
# What a kept chunk's row carries into the next build (all but its BM25 weights, which are computed again).
_COPIED_CHUNK_FIELDS = [*_CHUNK_FIELDS, "date", "publication", "words"]
_PHRASE = re.compile(r'"((?:[^"]|"")*)"')


class MilvusReader:
    """Read-only view of one build: the live one when opened, or the one named."""

    def __init__(self, settings: Settings, build: str | None = None) -> None:
        self.uri = settings.milvus_location
        self.prefix = collection_prefix(settings)
        self._client = connect(settings)
        try:
            if build is None:
                row = _live_row(self._client, self.prefix)
                if row is None:
                    raise IndexNotFoundError(f"{self.uri} (index {settings.index_name!r})")
                build = str(row["build"])
            self._build = build
            self._name = f"{self.prefix}_b{build}"
            if not self._client.has_collection(f"{self._name}_meta"):
                raise IndexNotFoundError(f"{self.uri} (build {build} of index {settings.index_name!r})")
            for kind in KINDS:
                _loaded(self._client, f"{self._name}_{kind}")
            self.manifest = _read_manifest(self._client, self._name)
        except BaseException:
            self._client.close()
            raise
        if self.manifest.get("format_version") != FORMAT_VERSION:
            raise IndexError_(
                f"{self._name} has index format {self.manifest.get('format_version')}, this version reads "
                f"{FORMAT_VERSION}; rebuild it with `rag ingest --rebuild`"
            )
        apply_user_words(words_from_manifest(self.manifest.get("user_dict")))
        bm25 = self.manifest.get("bm25", {})
        self._n_chunks = int(bm25.get("chunks", 0))
        self._facts: list[Fact] | None = None
        self._publications: list[str] | None = None
        self._chunk_counts: dict[str, int] | None = None

    @property
    def build_id(self) -> str:
        return self._build

    def close(self) -> None:
        self._client.close()

    def check_embedder(self, model_id: str, dim: int) -> None:
        check_built_embedder(self._name, self.manifest, model_id, dim)

    # --- documents ---

    def sources(self) -> list[SourceRecord]:
        rows = self._query("meta", 'kind == "source"', ["data"])
        return sorted((_source(json.loads(row["data"])) for row in rows), key=lambda s: s.source_file)

    def articles(self, source_file: str | None = None) -> list[Article]:
        where = "" if source_file is None else f"source_file == {_quote(source_file)}"
        articles = _articles(self._query("articles", where, ["article_id", "part", "data"]))
        return sorted(articles, key=lambda a: (a.source_file, a.ordinal))

    def article(self, article_id: str) -> Article:
        found = _articles(
            self._query("articles", f"article_id == {_quote(article_id)}", ["article_id", "part", "data"])
        )
        if not found:
            raise ArticleNotFoundError(article_id)
        return found[0]

    def publications(self) -> list[str]:
        if self._publications is None:
            rows = self._query("articles", 'publication != ""', ["publication"])
            self._publications = sorted({str(row["publication"]) for row in rows})
        return self._publications

    def chunks(self, int_ids: Iterable[int]) -> dict[int, StoredChunk]:
        ids = list(dict.fromkeys(int_ids))
        found: dict[int, StoredChunk] = {}
        for start in range(0, len(ids), BATCH):
            rows = self._client.get(f"{self._name}_chunks", ids=ids[start : start + BATCH], output_fields=_CHUNK_FIELDS)
            found.update((int(row["id"]), _stored_chunk(row)) for row in rows)
        return found

    def chunk_count(self) -> int:
        return self._n_chunks

    def chunk_counts(self) -> dict[str, int]:
        if self._chunk_counts is None:
            self._chunk_counts = dict(
                Counter(str(r["source_file"]) for r in self._query("chunks", "", ["source_file"]))
            )
        return self._chunk_counts

    # --- search ---

    def dense(self, query_vector: np.ndarray, k: int, allowed: set[int] | None = None) -> Hits:
        vector = np.asarray(query_vector, dtype=np.float32).reshape(-1).tolist()
        return self._search("dense", vector, k, allowed)

    def bm25(self, match: str, k: int, allowed: set[int] | None = None) -> Hits:
        words = [m.group(1).replace('""', '"') for m in _PHRASE.finditer(match)]
        terms = self._terms(words)
        query: dict[int, float] = {}
        for tid, df in terms.values():
            idf = math.log((self._n_chunks - df + 0.5) / (df + 0.5))
            query[tid] = idf if idf > 0 else 1e-6  # FTS5's floor for words in most chunks
        return self._search("sparse", query, k, allowed) if query else []

    def weighted_bm25(self, weights: Mapping[str, float], k: int, allowed: set[int] | None = None) -> Hits:
        terms = self._terms(weights)
        query: dict[int, float] = {}
        for word, (tid, df) in terms.items():
            if weights[word] > 0:
                query[tid] = weights[word] * math.log(1 + (self._n_chunks - df + 0.5) / (df + 0.5))
        return self._search("sparse", query, k, allowed) if query else []

    def document_frequencies(self, words: Iterable[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(words))
        terms = self._terms(wanted)
        return {word: terms[word][1] if word in terms else 0 for word in wanted}

    def words_in_chunks(self, words: Iterable[str], int_ids: Iterable[int]) -> dict[int, set[str]]:
        wanted = set(words)
        ids = list(int_ids)
        held: dict[int, set[str]] = {i: set() for i in ids}
        for start in range(0, len(ids), BATCH):
            for row in self._client.get(
                f"{self._name}_chunks", ids=ids[start : start + BATCH], output_fields=["words"]
            ):
                held[int(row["id"])] = wanted.intersection(str(row["words"]).split(" "))
        return held

    def chunk_ids_matching(self, filters: SearchFilters) -> set[int]:
        """The filter runs inside Milvus, as an expression over the chunks' article fields."""
        clauses = []
        if filters.date_from is not None or filters.date_to is not None:
            clauses.append('date != ""')
        if filters.date_from is not None:
            clauses.append(f"date >= {_quote(filters.date_from.isoformat())}")
        if filters.date_to is not None:
            clauses.append(f"date <= {_quote(filters.date_to.isoformat())}")
        if filters.publication is not None:
            clauses.append(f"publication == {_quote(filters.publication)}")
        if filters.source is not None:
            # a file name, or a document id: the stored name less its extension
            wanted = filters.source
            names = [
                s.source_file
                for s in self.sources()
                if s.source_file == wanted or s.source_file.startswith(wanted + ".")
            ]
            if not names:
                return set()
            clauses.append(f"source_file in {_quote_list(names)}")
        return {int(row["id"]) for row in self._query("chunks", " and ".join(clauses), ["id"])}

    # --- the figures table ---

    def facts(
        self,
        indicator: str | None = None,
        place: str | None = None,
        period: str | None = None,
        article_ids: Iterable[str] | None = None,
    ) -> list[Fact]:
        from rag.facts.owners import owners_fit

        if article_ids is not None:
            ids = list(article_ids)
            rows = self._query("facts", f"article_id in {_quote_list(ids)}", _FACT_ORDER) if ids else []
            found = [Fact.model_validate_json(row["data"]) for row in sorted(rows, key=_fact_order)]
        else:
            found = self._all_facts()
        return [
            fact
            for fact in found
            if (not indicator or indicator in fact.indicator)
            and (not period or (fact.period or "").startswith(period))
            and (place is None or owners_fit(place, fact.owner))
        ]

    def _all_facts(self) -> list[Fact]:
        if self._facts is None:
            rows = sorted(self._query("facts", "", _FACT_ORDER), key=_fact_order)
            self._facts = [Fact.model_validate_json(row["data"]) for row in rows]
        return self._facts

    # --- helpers ---

    def _terms(self, words: Iterable[str]) -> dict[str, tuple[int, int]]:
        """Word -> (word id, document frequency), for the words some chunk holds."""
        wanted = list(dict.fromkeys(words))
        found: dict[str, tuple[int, int]] = {}
        for start in range(0, len(wanted), BATCH):
            rows = self._client.get(
                f"{self._name}_terms", ids=wanted[start : start + BATCH], output_fields=["tid", "df"]
            )
            found.update((str(row["term"]), (int(row["tid"]), int(row["df"]))) for row in rows)
        return found

    def _search(self, field: str, vector: Any, k: int, allowed: set[int] | None) -> Hits:
        if allowed is not None and not allowed:
            return []
        where = "" if allowed is None else f"id in {sorted(allowed)}"
        # A few more than asked: equal scores are then ordered by id, as the file store orders them.
        limit = min(k + 10, 16_384)
        found = self._client.search(
            f"{self._name}_chunks", data=[vector], anns_field=field, limit=limit, filter=where,
            search_params={"metric_type": "IP"}, output_fields=["id"],
        )  # fmt: skip
        hits = [(int(hit["id"]), float(hit["distance"])) for hit in found[0]]
        if field == "sparse":
            hits = [hit for hit in hits if hit[1] > 0]
        return sorted(hits, key=lambda hit: (-hit[1], hit[0]))[:k]

    def _query(self, kind: str, where: str, fields: list[str]) -> list[dict[str, Any]]:
        return _query_all(self._client, f"{self._name}_{kind}", where, fields)


def _query_all(client: MilvusClient, collection: str, where: str, fields: list[str]) -> list[dict[str, Any]]:
    """Every row matching `where` (a query alone returns at most 16,384)."""
    return [row for batch in _batches(client, collection, where, fields, BATCH * 4) for row in batch]


def _batches(
    client: MilvusClient, collection: str, where: str, fields: list[str], size: int = BATCH
) -> Iterator[list[dict[str, Any]]]:
    """The rows matching `where`, `size` at a time, so a whole collection never sits in memory at once."""
    iterator = client.query_iterator(collection, batch_size=size, filter=where, output_fields=fields)
    try:
        while batch := iterator.next():
            yield [dict(row) for row in batch]
    finally:
        iterator.close()


_FACT_ORDER = ["source_file", "seq", "data"]


def _fact_order(row: Mapping[str, Any]) -> tuple[str, int]:
    """The file store's order: by source file, then (seq) article and extraction order within it."""
    return str(row["source_file"]), int(row["seq"])


def _words(row: Mapping[str, Any]) -> list[str]:
    return str(row["words"]).split(" ") if row["words"] else []


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _quote_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_quote(v) for v in values) + "]"


def _articles(rows: list[dict[str, Any]]) -> list[Article]:
    parts: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        parts.setdefault(str(row["article_id"]), []).append((int(row["part"]), str(row["data"])))
    return [Article.model_validate_json("".join(text for _, text in sorted(p))) for p in parts.values()]


def _stored_chunk(row: Mapping[str, Any]) -> StoredChunk:
    chunk = Chunk(
        id=row["chunk_id"], article_id=row["article_id"], position=int(row["position"]), text=row["text"],
        tokens=int(row["tokens"]), start=int(row["start_offset"]), end=int(row["end_offset"]), context=row["context"],
    )  # fmt: skip
    return StoredChunk(int_id=int(row["id"]), chunk=chunk, source_file=str(row["source_file"]))


def _source(data: Mapping[str, Any]) -> SourceRecord:
    return SourceRecord(
        data["source_file"], data["sha256"], data["shape"], data["encoding"], int(data["n_articles"]),
        tuple(data["warnings"]),
    )  # fmt: skip


def _source_data(record: SourceRecord) -> dict[str, Any]:
    return {
        "source_file": record.source_file, "sha256": record.sha256, "shape": record.shape,
        "encoding": record.encoding, "n_articles": record.n_articles, "warnings": list(record.warnings),
    }  # fmt: skip


def _parts(text: str) -> list[str]:
    return [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)] or [""]


# --- writing -----------------------------------------------------------------------------------------


@dataclass
class _StagedChunk:
    int_id: int
    chunk: Chunk
    embed_sha: str
    words: list[str]


@dataclass
class _StagedSource:
    record: SourceRecord
    articles: list[Article]
    chunks: list[_StagedChunk]
    facts: list[Fact]


class MilvusWriter:
    """Builds the next build into new collections and makes it live on success; drops them on error."""

    def __init__(self, settings: Settings, *, rebuild: bool = False) -> None:
        self.settings = settings
        self.rebuild = rebuild
        self.prefix = collection_prefix(settings)
        self.build = f"{time.strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:6]}"
        self.name = f"{self.prefix}_b{self.build}"
        self.extra_manifest: dict[str, Any] = {}
        self._staged: dict[str, _StagedSource] = {}  # sources put in this build: new or changed
        self._previous: str | None = None  # the live build's collections, which unchanged sources are copied from
        self._kept: dict[str, SourceRecord] = {}  # the live build's sources not put or deleted since
        self._kept_chunks: Counter[str] = Counter()  # their chunks, per source
        self._previous_manifest: dict[str, Any] = {}
        self._vectors: tuple[str, int, IndexType] | None = None
        self._client: MilvusClient
        self._lock: WriterLock | None = None

    def __enter__(self) -> MilvusWriter:
        self._client = connect(self.settings, create=True)
        try:
            self._lock = WriterLock(
                self._client, self.prefix, f"{self.settings.milvus_location} (index {self.settings.index_name!r})"
            )
            self._lock.acquire()
            self._drop_stale_builds()
            live = _live_row(self._client, self.prefix)
            if live is not None and not self.rebuild:
                self._stage_build(f"{self.prefix}_b{live['build']}")
        except BaseException:
            self._unlock()
            self._client.close()
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self._commit()
            else:
                self._drop_build(self.name)
        except BaseException:
            self._drop_build(self.name)
            raise
        finally:
            self._unlock()
            self._client.close()

    # --- articles and chunks ---

    def source_records(self) -> dict[str, SourceRecord]:
        return {**self._kept, **{name: staged.record for name, staged in self._staged.items()}}

    def put_source(
        self, record: SourceRecord, articles: Iterable[Article], chunks: Iterable[Chunk], facts: Iterable[Fact] = ()
    ) -> None:
        staged = [_StagedChunk(faiss_id(c.id), c, text_sha(c.embed_text), segment(c.embed_text)) for c in chunks]
        self._kept.pop(record.source_file, None)
        self._staged[record.source_file] = _StagedSource(record, list(articles), staged, list(facts))

    def delete_source(self, source_file: str) -> None:
        self._kept.pop(source_file, None)
        self._staged.pop(source_file, None)

    def chunk_count(self) -> int:
        kept = sum(self._kept_chunks[name] for name in self._kept)
        return kept + sum(len(s.chunks) for s in self._staged.values())

    # --- embeddings ---

    def texts_to_embed(self, model_id: str) -> list[tuple[str, str]]:
        wanted: dict[str, str] = {}
        for source in self._staged.values():
            for staged in source.chunks:
                wanted.setdefault(staged.embed_sha, staged.chunk.embed_text)
        cached = self._cached_shas(model_id, list(wanted))
        missing = [sha for sha in wanted if sha not in cached]
        found = self._from_file_store(model_id, missing)
        return [(sha, wanted[sha]) for sha in missing if sha not in found]

    def _from_file_store(self, model_id: str, shas: list[str]) -> set[str]:
        """Vectors the file store of the same index already holds (a move from RAG_STORE=files) are copied, not
        embedded again."""
        import sqlite3

        from rag.store.files import DB_NAME

        db_path = self.settings.index_dir / DB_NAME
        if not shas or not db_path.exists():
            return set()
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            rows: list[tuple[str, bytes]] = []
            for start in range(0, len(shas), 500):
                batch = shas[start : start + 500]
                marks = ",".join("?" * len(batch))
                query = f"SELECT text_sha, vector FROM embedding_cache WHERE model_id = ? AND text_sha IN ({marks})"
                rows += [(str(sha), bytes(blob)) for sha, blob in db.execute(query, [model_id, *batch])]
        except sqlite3.Error:
            return set()
        finally:
            db.close()
        if rows:
            vectors = np.stack([np.frombuffer(blob, dtype=np.float32) for _, blob in rows])
            self.cache_embeddings(model_id, [sha for sha, _ in rows], vectors)
        return {sha for sha, _ in rows}

    def cache_embeddings(self, model_id: str, shas: list[str], vectors: np.ndarray) -> None:
        name = self._cache_collection(model_id, int(vectors.shape[1]), create=True)
        _loaded(self._client, name)
        rows = [{"sha": sha, "vector": v.astype(np.float32).tolist()} for sha, v in zip(shas, vectors, strict=True)]
        for start in range(0, len(rows), BATCH):
            self._client.upsert(name, rows[start : start + BATCH])

    def sync_vectors(self, model_id: str, dim: int, index_type: IndexType) -> None:
        """The vectors are read from the embedding cache when the build is written (on leaving `with`)."""
        self._vectors = (model_id, dim, index_type)

    def _cache_collection(self, model_id: str, dim: int, *, create: bool) -> str:
        name = f"{self.prefix}_emb_{text_sha(model_id)[:12]}_{dim}"
        if create and not self._client.has_collection(name):
            from pymilvus import DataType

            schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("sha", DataType.VARCHAR, is_primary=True, max_length=64)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
            self._create(name, schema, {"vector": ("FLAT", "IP")})
        return name

    def _cached_shas(self, model_id: str, shas: list[str]) -> set[str]:
        names = [
            n for n in self._client.list_collections() if n.startswith(f"{self.prefix}_emb_{text_sha(model_id)[:12]}_")
        ]
        found: set[str] = set()
        for name in names:
            _loaded(self._client, name)
            for start in range(0, len(shas), BATCH):
                rows = self._client.get(name, ids=shas[start : start + BATCH], output_fields=["sha"])
                found.update(str(row["sha"]) for row in rows)
        return found

    def _cached_vectors(self, model_id: str, dim: int, shas: list[str]) -> dict[str, list[float]]:
        name = self._cache_collection(model_id, dim, create=False)
        vectors: dict[str, list[float]] = {}
        if not self._client.has_collection(name):
            return vectors
        _loaded(self._client, name)
        for start in range(0, len(shas), BATCH):
            for row in self._client.get(name, ids=shas[start : start + BATCH], output_fields=["sha", "vector"]):
                vectors[str(row["sha"])] = list(row["vector"])
        return vectors

    # --- the previous build ---

    def _stage_build(self, name: str) -> None:
        """Start from what the live build holds: its sources, whose rows the commit copies over in batches
        unless they were put or deleted meanwhile (the file store copies its SQLite the same way)."""
        for kind in KINDS:
            _loaded(self._client, f"{name}_{kind}")
        self._previous = name
        self._previous_manifest = _read_manifest(self._client, name)
        for row in _query_all(self._client, f"{name}_meta", 'kind == "source"', ["data"]):
            record = _source(json.loads(row["data"]))
            self._kept[record.source_file] = record
        for batch in _batches(self._client, f"{name}_chunks", "", ["source_file"]):
            self._kept_chunks.update(str(row["source_file"]) for row in batch)

    def _kept_rows(self, kind: str, fields: list[str]) -> Iterator[list[dict[str, Any]]]:
        """The previous build's rows of the sources kept, a batch at a time."""
        if self._previous is None or not self._kept:
            return iter(())
        where = f"source_file in {_quote_list(sorted(self._kept))}"
        return _batches(self._client, f"{self._previous}_{kind}", where, fields)

    # --- commit ---

    def _previous_vectors(self) -> tuple[str, int, IndexType]:
        """Nothing was embedded (no sync_vectors): the previous build's embedder still holds."""
        embedder = self.extra_manifest.get("embedder") or self._previous_manifest.get("embedder")
        if not embedder:
            raise IndexError_("the build has no vectors: call sync_vectors before the writer closes")
        return str(embedder["model_id"]), int(embedder["dim"]), "flat"

    def _commit(self) -> None:
        model_id, dim, index_type = self._vectors or self._previous_vectors()
        staged = [self._staged[name] for name in sorted(self._staged)]
        vocabulary, bm25_stats = self._vocabulary(staged)
        self._write_chunks(staged, vocabulary, bm25_stats["avgdl"], model_id, dim, index_type)
        self._write_articles(staged)
        self._write_facts(staged)
        self._write_terms(vocabulary)
        records = self.source_records()
        manifest = {
            "format_version": FORMAT_VERSION,
            "index_name": self.settings.index_name,
            "store": "milvus",
            "build_id": self.build,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "sources": {name: records[name].sha256 for name in sorted(records)},
            "counts": {
                "sources": len(records),
                "articles": sum(r.n_articles for r in self._kept.values()) + sum(len(s.articles) for s in staged),
                "chunks": bm25_stats["chunks"],
            },
            "bm25": bm25_stats,
            **self.extra_manifest,
        }
        self._write_meta([records[name] for name in sorted(records)], manifest)
        self._switch()

    def _vocabulary(self, staged: list[_StagedSource]) -> tuple[dict[str, tuple[int, int]], dict[str, Any]]:
        """Word -> (word id, document frequency), ids from 1 in sorted order; and the build's N and avgdl, over
        the kept chunks (read a batch at a time) and the staged ones."""
        df: Counter[str] = Counter()
        chunks = words = 0
        kept = (_words(row) for batch in self._kept_rows("chunks", ["words"]) for row in batch)
        for chunk_words in itertools.chain(kept, (c.words for s in staged for c in s.chunks)):
            df.update(set(chunk_words))
            chunks += 1
            words += len(chunk_words)
        vocabulary = {word: (tid, df[word]) for tid, word in enumerate(sorted(df), start=1)}
        avgdl = words / chunks if chunks else 0.0
        return vocabulary, {"chunks": chunks, "avgdl": avgdl, "k1": BM25_K1, "b": BM25_B}

    def _write_chunks(
        self,
        staged: list[_StagedSource],
        vocabulary: dict[str, tuple[int, int]],
        avgdl: float,
        model_id: str,
        dim: int,
        index_type: IndexType,
    ) -> None:
        from pymilvus import DataType

        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        for name in ("chunk_id", "article_id", "source_file", "embed_sha", "date", "publication"):
            schema.add_field(name, DataType.VARCHAR, max_length=1024)
        for name in ("text", "context", "words"):
            schema.add_field(name, DataType.VARCHAR, max_length=_TEXT)
        for name in ("position", "tokens", "start_offset", "end_offset"):
            schema.add_field(name, DataType.INT64)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        dense_index = {"flat": "FLAT", "hnsw": "HNSW", "ivf": "IVF_FLAT"}[index_type]
        name = f"{self.name}_chunks"
        self._create(name, schema, {"dense": (dense_index, "IP"), "sparse": ("SPARSE_INVERTED_INDEX", "IP")})
        # Kept chunks keep every field but BM25's document weights, which move with avgdl and the vocabulary.
        for batch in self._kept_rows("chunks", [*_COPIED_CHUNK_FIELDS, "dense"]):
            for row in batch:
                row["sparse"] = _bm25_weights(_words(row), vocabulary, avgdl)
            self._client.insert(name, batch)
        cached = self._cached_vectors(model_id, dim, list({c.embed_sha for s in staged for c in s.chunks}))
        rows: list[dict[str, Any]] = []
        for source in staged:
            article_of = {a.id: a for a in source.articles}
            for c in source.chunks:
                article = article_of.get(c.chunk.article_id)
                vector = cached.get(c.embed_sha)
                if vector is None:
                    raise IndexError_(
                        f"chunk {c.chunk.id} has no cached embedding for {model_id}; run `rag ingest` again"
                    )
                rows.append({
                    "id": c.int_id, "chunk_id": c.chunk.id, "article_id": c.chunk.article_id,
                    "source_file": source.record.source_file, "embed_sha": c.embed_sha,
                    "date": (article.date or "") if article is not None else "",
                    "publication": (article.publication or "") if article is not None else "",
                    "text": c.chunk.text, "context": c.chunk.context, "words": " ".join(c.words),
                    "position": c.chunk.position, "tokens": c.chunk.tokens, "start_offset": c.chunk.start,
                    "end_offset": c.chunk.end, "dense": vector, "sparse": _bm25_weights(c.words, vocabulary, avgdl),
                })  # fmt: skip
                if len(rows) >= BATCH:
                    self._client.insert(name, rows)
                    rows = []
        if rows:
            self._client.insert(name, rows)

    def _write_articles(self, staged: list[_StagedSource]) -> None:
        from pymilvus import DataType

        schema = self._small_schema("pk")
        for name in ("article_id", "source_file", "publication"):
            schema.add_field(name, DataType.VARCHAR, max_length=1024)
        schema.add_field("part", DataType.INT64)
        schema.add_field("ordinal", DataType.INT64)
        schema.add_field("data", DataType.VARCHAR, max_length=_TEXT)
        self._create(f"{self.name}_articles", schema, {"_v": ("FLAT", "L2")})
        fields = ["pk", "article_id", "source_file", "publication", "part", "ordinal", "data", "_v"]
        for batch in self._kept_rows("articles", fields):
            self._client.insert(f"{self.name}_articles", batch)
        rows = [
            {
                "pk": f"{a.id}:{part}", "article_id": a.id, "source_file": a.source_file,
                "publication": a.publication or "", "part": part, "ordinal": a.ordinal, "data": text, "_v": [0.0, 0.0],
            }
            for s in staged
            for a in s.articles
            for part, text in enumerate(_parts(a.model_dump_json()))
        ]  # fmt: skip
        self._insert(f"{self.name}_articles", rows)

    def _write_facts(self, staged: list[_StagedSource]) -> None:
        from pymilvus import DataType

        schema = self._small_schema("pk")
        for name in ("article_id", "source_file"):
            schema.add_field(name, DataType.VARCHAR, max_length=1024)
        schema.add_field("seq", DataType.INT64)
        schema.add_field("data", DataType.VARCHAR, max_length=_TEXT)
        self._create(f"{self.name}_facts", schema, {"_v": ("FLAT", "L2")})
        for batch in self._kept_rows("facts", ["pk", "article_id", "source_file", "seq", "data", "_v"]):
            self._client.insert(f"{self.name}_facts", batch)
        # seq orders a source's rows as the file store returns them: by article, then extraction order.
        rows = [
            {"pk": f.id, "article_id": f.article_id, "source_file": f.source_file, "seq": seq,
             "data": f.model_dump_json(), "_v": [0.0, 0.0]}
            for s in staged
            for seq, f in enumerate(sorted(s.facts, key=lambda f: f.article_id))
        ]  # fmt: skip
        self._insert(f"{self.name}_facts", rows)

    def _write_terms(self, vocabulary: dict[str, tuple[int, int]]) -> None:
        from pymilvus import DataType

        schema = self._small_schema("term")
        schema.add_field("tid", DataType.INT64)
        schema.add_field("df", DataType.INT64)
        self._create(f"{self.name}_terms", schema, {"_v": ("FLAT", "L2")})
        rows = [{"term": w, "tid": tid, "df": df, "_v": [0.0, 0.0]} for w, (tid, df) in vocabulary.items()]
        self._insert(f"{self.name}_terms", rows)

    def _write_meta(self, records: list[SourceRecord], manifest: dict[str, Any]) -> None:
        from pymilvus import DataType

        schema = self._small_schema("key")
        schema.add_field("kind", DataType.VARCHAR, max_length=32)
        schema.add_field("data", DataType.VARCHAR, max_length=_TEXT)
        self._create(f"{self.name}_meta", schema, {"_v": ("FLAT", "L2")})
        rows = [
            {"key": f"source:{r.source_file}", "kind": "source",
             "data": json.dumps(_source_data(r), ensure_ascii=False), "_v": [0.0, 0.0]}
            for r in records
        ]  # fmt: skip
        text = json.dumps(manifest, ensure_ascii=False)
        rows += [
            {"key": f"manifest:{i}", "kind": "manifest", "data": part, "_v": [0.0, 0.0]}
            for i, part in enumerate(_parts(text))
        ]
        self._insert(f"{self.name}_meta", rows)

    def _switch(self) -> None:
        """One upsert makes the new build live; an alias names its chunks for tools that look at Milvus."""
        from pymilvus import DataType

        live = f"{self.prefix}_live"
        if not self._client.has_collection(live):
            schema = self._small_schema("key")
            schema.add_field("build", DataType.VARCHAR, max_length=128)
            schema.add_field("previous", DataType.VARCHAR, max_length=128)
            self._create(live, schema, {"_v": ("FLAT", "L2")})
        row = _live_row(self._client, self.prefix)
        previous = str(row["build"]) if row else ""
        self._client.upsert(live, [{"key": "live", "build": self.build, "previous": previous, "_v": [0.0, 0.0]}])
        alias = f"{self.prefix}_chunks"
        chunks = f"{self.name}_chunks"
        try:
            self._client.alter_alias(chunks, alias)
        except Exception:  # no such alias yet
            self._client.create_alias(chunks, alias)
        with _live_lock:
            _live_seen.clear()

    # --- collections ---

    def _small_schema(self, key: str) -> Any:
        from pymilvus import DataType

        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(key, DataType.VARCHAR, is_primary=True, max_length=2048)
        schema.add_field("_v", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
        return schema

    def _create(self, name: str, schema: Any, indexes: dict[str, tuple[str, str]]) -> None:
        params = self._client.prepare_index_params()
        for field, (index_type, metric) in indexes.items():
            extra = {"M": 32, "efConstruction": 200} if index_type == "HNSW" else {}
            extra = {"nlist": 128} if index_type == "IVF_FLAT" else extra
            params.add_index(field, index_type=index_type, metric_type=metric, params=extra)
        self._client.create_collection(name, schema=schema, index_params=params)

    def _insert(self, name: str, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), BATCH):
            self._client.insert(name, rows[start : start + BATCH])

    def _drop_build(self, name: str) -> None:
        for kind in KINDS:
            if self._client.has_collection(f"{name}_{kind}"):
                self._client.drop_collection(f"{name}_{kind}")

    def _drop_stale_builds(self) -> None:
        """Builds a crashed writer left, and those older than the one before the live one."""
        row = _live_row(self._client, self.prefix)
        keep = {str(row["build"]), str(row["previous"])} if row else set()
        builds = {
            m.group(1)
            for n in self._client.list_collections()
            if (m := re.fullmatch(rf"{re.escape(self.prefix)}_b(.+)_({'|'.join(KINDS)})", n))
        }
        for build in builds - keep:
            self._drop_build(f"{self.prefix}_b{build}")

    def _unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def _bm25_weights(words: list[str], vocabulary: Mapping[str, tuple[int, int]], avgdl: float) -> dict[int, float]:
    """BM25's document side for one chunk: tf*(k1+1)/(tf+k1*(1-b+b*dl/avgdl)) per word id."""
    if not words:
        return {_NO_WORDS: 1e-9}
    norm = BM25_K1 * (1 - BM25_B + BM25_B * len(words) / avgdl)
    return {vocabulary[w][0]: tf * (BM25_K1 + 1) / (tf + norm) for w, tf in Counter(words).items()}


def iter_build_collections(client: MilvusClient, prefix: str) -> Iterator[str]:
    """Every collection of the index's builds (for tools and tests)."""
    for name in client.list_collections():
        if name.startswith(f"{prefix}_b"):
            yield name


def copy_embedding_cache(settings: Settings, index_db: Path) -> int:
    """Copy a file store's embedding cache (its index.sqlite) into this Milvus, so moving an index from files
    to Milvus re-embeds nothing. Returns how many vectors were copied."""
    import sqlite3

    db = sqlite3.connect(f"file:{index_db}?mode=ro", uri=True)
    writer = MilvusWriter(settings)
    writer._client = connect(settings, create=True)
    copied = 0
    try:
        by_model: dict[str, list[tuple[str, bytes]]] = {}
        for model_id, sha, blob in db.execute("SELECT model_id, text_sha, vector FROM embedding_cache"):
            by_model.setdefault(str(model_id), []).append((str(sha), bytes(blob)))
        for model_id, rows in by_model.items():
            vectors = np.stack([np.frombuffer(blob, dtype=np.float32) for _, blob in rows])
            writer.cache_embeddings(model_id, [sha for sha, _ in rows], vectors)
            copied += len(rows)
    finally:
        writer._client.close()
        db.close()
    return copied
