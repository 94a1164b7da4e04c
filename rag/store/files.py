"""The file store, the embedded default of rag.store.base's interface: `indexes/<name>` is a symlink to one
complete build under `indexes/.builds/`.

A build holds `manifest.json`, `index.sqlite` (sources, articles, chunks, the FTS5 table for BM25,
the embedding cache) and `vectors.faiss` (chunk vectors keyed by chunk id).

A writer copies the current build, changes the copy, and swaps the symlink in one atomic rename, so a
reader always sees a whole build and a crash at any moment leaves the previous one in place. A lock
file keeps two writers apart.

    with IndexWriter(settings.index_dir) as writer:
        writer.put_source(record, articles, chunks)
    with open_index(settings.index_dir) as index:
        index.articles()
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.bm25 import FTS_TOKENIZER, segmented, weighted_bm25
from rag.errors import ArticleNotFoundError, IndexError_, IndexLockedError, IndexNotFoundError
from rag.facts.models import Fact
from rag.lexicon.userdict import apply_user_words, words_from_manifest
from rag.memo import Memo
from rag.models import Article, Chunk
from rag.store.base import Hits, SourceRecord, StoredChunk, check_built_embedder, faiss_id, text_sha

if TYPE_CHECKING:
    import faiss

    from rag.filters import SearchFilters
    from rag.vectors import IndexType

FORMAT_VERSION = 3  # 3: the facts table
DB_NAME = "index.sqlite"
VECTORS_NAME = "vectors.faiss"
ARTICLES_KEPT = 1024  # parsed articles an open reader keeps (the search path reads the same ones again and again)
TERMS_KEPT = 16384  # BM25 words whose document frequency and postings an open reader keeps
POSTINGS_KEPT_MAX = 20_000  # chunks in one word's postings, past which they are not kept
CHUNKS_KEPT = 16384  # chunk rows an open reader keeps; a few tens of MB at most
MANIFEST_NAME = "manifest.json"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS sources (
    source_file TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    shape TEXT NOT NULL,
    encoding TEXT NOT NULL,
    n_articles INTEGER NOT NULL,
    warnings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    source_file TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_by_source ON articles (source_file, ordinal);
CREATE TABLE IF NOT EXISTS chunks (
    int_id INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    article_id TEXT NOT NULL,
    source_file TEXT NOT NULL,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    start_offset INTEGER NOT NULL,
    end_offset INTEGER NOT NULL,
    context TEXT NOT NULL,
    embed_sha TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_source ON chunks (source_file);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(words, tokenize="{FTS_TOKENIZER}");
CREATE TABLE IF NOT EXISTS facts (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    source_file TEXT NOT NULL,
    indicator TEXT NOT NULL,
    owner TEXT NOT NULL,
    period TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS facts_by_source ON facts (source_file);
CREATE INDEX IF NOT EXISTS facts_by_article ON facts (article_id);
CREATE TABLE IF NOT EXISTS embedding_cache (
    model_id TEXT NOT NULL,
    text_sha TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model_id, text_sha)
) WITHOUT ROWID;
"""


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    path = index_dir / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return manifest
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexError_(f"{path} is unreadable ({exc}); rebuild with `rag ingest --rebuild`") from exc


class IndexReader:
    """Read-only view of the build `index_dir` points at when opened."""

    def __init__(self, index_dir: Path) -> None:
        if not (index_dir / DB_NAME).exists():
            raise IndexNotFoundError(index_dir)
        self.path = index_dir.resolve()
        self.manifest = read_manifest(self.path) or {}
        if self.manifest.get("format_version") != FORMAT_VERSION:
            raise IndexError_(
                f"{index_dir} has index format {self.manifest.get('format_version')}, this version reads "
                f"{FORMAT_VERSION}; rebuild it with `rag ingest --rebuild`"
            )
        # The chunks were cut with the user words of this build; questions must be cut the same way.
        apply_user_words(words_from_manifest(self.manifest.get("user_dict")))
        uri = f"file:{self.path / DB_NAME}?mode=ro"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._vectors: faiss.Index | None = None
        self._chunk_lengths: dict[int, int] | None = None
        # A build never changes, so what the search path reads of it again and again is kept, parsed (rag.memo).
        self._articles: Memo[str, Article] = Memo(ARTICLES_KEPT)
        self._chunk_rows: Memo[int, StoredChunk] = Memo(CHUNKS_KEPT)
        self._frequencies: Memo[str, int] = Memo(TERMS_KEPT)
        self._postings: Memo[str, dict[int, int]] = Memo(TERMS_KEPT)

    @property
    def build_id(self) -> str:
        return self.path.name

    def close(self) -> None:
        self._db.close()

    def check_embedder(self, model_id: str, dim: int) -> None:
        check_built_embedder(self.path.name, self.manifest, model_id, dim)

    def sources(self) -> list[SourceRecord]:
        rows = self._db.execute("SELECT * FROM sources ORDER BY source_file").fetchall()
        return [_source(row) for row in rows]

    def articles(self, source_file: str | None = None) -> list[Article]:
        query = "SELECT data FROM articles"
        args: tuple[str, ...] = ()
        if source_file is not None:
            query += " WHERE source_file = ?"
            args = (source_file,)
        rows = self._db.execute(query + " ORDER BY source_file, ordinal", args).fetchall()
        return [Article.model_validate_json(row[0]) for row in rows]

    def publications(self) -> list[str]:
        """Every publication named by an article of the index."""
        publication = "json_extract(data, '$.publication')"
        rows = self._db.execute(f"SELECT DISTINCT {publication} FROM articles WHERE {publication} IS NOT NULL")
        return sorted(row[0] for row in rows.fetchall() if row[0])

    def article(self, article_id: str) -> Article:
        kept = self._articles.get(article_id)
        if kept is not None:
            return kept  # Article is frozen: sharing it between requests is safe
        row = self._db.execute("SELECT data FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            raise ArticleNotFoundError(article_id)
        return self._articles.put(article_id, Article.model_validate_json(row[0]))

    def chunks(self, int_ids: Iterable[int]) -> dict[int, StoredChunk]:
        """The chunks with these int ids that exist, in int id order."""
        found: dict[int, StoredChunk] = {}
        ids = []
        for int_id in dict.fromkeys(int_ids):
            kept = self._chunk_rows.get(int_id)
            if kept is not None:
                found[int_id] = kept
            else:
                ids.append(int_id)
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE int_id IN ({marks})", batch)
            found.update((row[0], self._chunk_rows.put(row[0], _stored_chunk(row))) for row in rows)
        return dict(sorted(found.items()))

    def chunk_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    @property
    def vectors(self) -> faiss.Index:
        if self._vectors is None:
            from rag.vectors import load_index

            self._vectors = load_index(self.path / VECTORS_NAME)
        return self._vectors

    def dense(self, query_vector: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        from rag.vectors import search, search_among

        if allowed is not None:
            scores, ids = search_among(self.vectors, query_vector, k, np.fromiter(allowed, dtype=np.int64))
        else:
            scores, ids = search(self.vectors, query_vector.reshape(1, -1).astype(np.float32), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def document_frequencies(self, words: Iterable[str]) -> dict[str, int]:
        """How many chunks hold each BM25 word (words as `rag.bm25.segment` makes them); 0 for unknown words."""
        wanted = list(dict.fromkeys(words))
        kept = {word: self._frequencies.get(word) for word in wanted}
        missing = [word for word, count in kept.items() if count is None]
        if missing:
            # fts5vocab lives in the connection's temp schema, so it works on this read-only database.
            self._db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.bm25_vocab USING fts5vocab(main, chunks_fts, 'row')"
            )
            marks = ",".join("?" * len(missing))
            query = f"SELECT term, doc FROM temp.bm25_vocab WHERE term IN ({marks})"
            found = dict(self._db.execute(query, missing).fetchall())
            for word in missing:
                kept[word] = self._frequencies.put(word, int(found.get(word, 0)))
        return {word: int(count or 0) for word, count in kept.items()}

    # --- the figures table (rag.facts) ---------------------------------------------------------------

    def facts(
        self,
        indicator: str | None = None,
        place: str | None = None,
        period: str | None = None,
        article_ids: Iterable[str] | None = None,
    ) -> list[Fact]:
        """Rows of the figures table in text order: `indicator` is a part of the row's indicator, `place` its
        owner or a short form of it ("吴兴" for 吴兴区), `period` a prefix of its period label ("2013", "Y0-H1")."""
        from rag.facts.owners import owners_fit

        clauses: list[str] = ["1"]
        args: list[str | int] = []
        if indicator:
            clauses.append("instr(indicator, ?) > 0")
            args.append(indicator)
        if period:
            clauses.append("substr(period, 1, ?) = ?")
            args.extend([len(period), period])
        if article_ids is not None:
            ids = list(article_ids)
            clauses.append(f"article_id IN ({','.join('?' * len(ids))})")
            args.extend(ids)
        query = f"SELECT data FROM facts WHERE {' AND '.join(clauses)} ORDER BY source_file, article_id, rowid"
        found = [Fact.model_validate_json(row[0]) for row in self._db.execute(query, args)]
        return [fact for fact in found if place is None or owners_fit(place, fact.owner)]

    # --- term postings, for BM25 with weighted terms (rag.bm25.weighted_bm25) ---------------------

    def term_postings(self, terms: Iterable[str]) -> dict[str, dict[int, int]]:
        """For each BM25 word, the chunks holding it and how often: {"基站": {int_id: 2, ...}}; {} when absent.
        The inner maps are kept for the next query: read them, do not change them."""
        wanted = list(dict.fromkeys(terms))
        postings: dict[str, dict[int, int]] = {}
        missing = []
        for term in wanted:
            kept = self._postings.get(term)
            if kept is None:
                missing.append(term)
            postings[term] = kept if kept is not None else {}
        if not missing:
            return postings
        self._db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.bm25_instances USING fts5vocab(main, chunks_fts, 'instance')"
        )
        marks = ",".join("?" * len(missing))
        query = f"SELECT term, doc, COUNT(*) FROM temp.bm25_instances WHERE term IN ({marks}) GROUP BY term, doc"
        for term, doc, count in self._db.execute(query, missing):
            postings[term][int(doc)] = int(count)
        for term in missing:
            if len(postings[term]) <= POSTINGS_KEPT_MAX:  # a word in most chunks of a large corpus is read again
                self._postings.put(term, postings[term])
        return postings

    def weighted_bm25(self, weights: Mapping[str, float], k: int, allowed: set[int] | None = None) -> Hits:
        postings = self.term_postings(weights)
        if allowed is None:
            return weighted_bm25(weights, postings, self.chunk_lengths(), k)
        # A filter narrows the chunks ranked, not the words' idf (as with bm25(), FTS5's, under a filter).
        frequencies = {term: len(chunks) for term, chunks in postings.items()}
        postings = {term: {c: n for c, n in chunks.items() if c in allowed} for term, chunks in postings.items()}
        return weighted_bm25(weights, postings, self.chunk_lengths(), k, frequencies)

    def words_in_chunks(self, words: Iterable[str], int_ids: Iterable[int]) -> dict[int, set[str]]:
        postings = self.term_postings(words)
        return {i: {word for word, chunks in postings.items() if i in chunks} for i in int_ids}

    def chunk_lengths(self) -> dict[int, int]:
        """Words each chunk holds in the BM25 table, read once per reader (a build never changes)."""
        if self._chunk_lengths is None:
            self._db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.bm25_instances USING fts5vocab(main, chunks_fts, 'instance')"
            )
            rows = self._db.execute("SELECT doc, COUNT(*) FROM temp.bm25_instances GROUP BY doc")
            self._chunk_lengths = {int(doc): int(count) for doc, count in rows}
        return self._chunk_lengths

    def bm25(self, match: str, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """Chunks matching an FTS5 expression, best first; scores are positive (higher is better). With `allowed`,
        only those chunk ids are ranked."""
        among = "" if allowed is None else " AND rowid IN (SELECT value FROM json_each(?))"
        query = (
            f"SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH ?{among} ORDER BY s LIMIT ?"
        )
        args = (match, k) if allowed is None else (match, json.dumps(sorted(allowed)), k)
        rows = self._db.execute(query, args).fetchall()
        return [(int(rowid), -float(score)) for rowid, score in rows]

    def chunk_counts(self) -> dict[str, int]:
        """Chunks per source file (rag.documents lists them per document)."""
        rows = self._db.execute("SELECT source_file, COUNT(*) FROM chunks GROUP BY source_file").fetchall()
        return {str(name): int(n) for name, n in rows}

    # --- filters (rag.filters) -----------------------------------------------------------------------

    def chunk_ids_matching(self, filters: SearchFilters) -> set[int]:
        """Ids of the chunks whose article passes `filters`: the set retrieval may draw from."""
        clauses, args = ["1"], []
        article_date = "json_extract(a.data, '$.date')"
        if filters.date_from is not None:
            clauses.append(f"{article_date} >= ?")
            args.append(filters.date_from.isoformat())
        if filters.date_to is not None:
            clauses.append(f"{article_date} <= ?")
            args.append(filters.date_to.isoformat())
        if filters.publication is not None:
            clauses.append("json_extract(a.data, '$.publication') = ?")
            args.append(filters.publication)
        if filters.source is not None:
            # a file name, or a document id: the stored name less its extension
            clauses.append("(c.source_file = ? OR substr(c.source_file, 1, length(?) + 1) = ? || '.')")
            args += [filters.source, filters.source, filters.source]
        query = f"SELECT c.int_id FROM chunks c JOIN articles a ON a.id = c.article_id WHERE {' AND '.join(clauses)}"
        return {int(row[0]) for row in self._db.execute(query, args)}


class IndexWriter:
    """Builds the next version of an index aside and swaps it in on success; discards it on error."""

    def __init__(self, index_dir: Path, *, rebuild: bool = False) -> None:
        self.index_dir = index_dir
        self.rebuild = rebuild
        self.builds = index_dir.parent / ".builds"
        stamp = time.strftime("%Y%m%dT%H%M%S")
        self.build_dir = self.builds / f"{index_dir.name}-{stamp}-{uuid.uuid4().hex[:6]}"
        self.extra_manifest: dict[str, Any] = {}  # the pipeline records its settings here
        self.removed_ids: set[int] = set()
        self.added_ids: set[int] = set()
        self._lock_file: Any = None
        self.db: sqlite3.Connection

    def __enter__(self) -> IndexWriter:
        self.index_dir.parent.mkdir(parents=True, exist_ok=True)
        if self.index_dir.exists() and not self.index_dir.is_symlink():
            raise IndexError_(
                f"{self.index_dir} is a plain folder, not a build made by `rag ingest`; move it away and run again"
            )
        self._lock()
        self.builds.mkdir(exist_ok=True)
        self.build_dir.mkdir()
        current = self.index_dir / DB_NAME
        if current.exists() and not self.rebuild:
            shutil.copy2(current, self.build_dir / DB_NAME)
            if (self.index_dir / VECTORS_NAME).exists():
                shutil.copy2(self.index_dir / VECTORS_NAME, self.build_dir / VECTORS_NAME)
        self.db = sqlite3.connect(self.build_dir / DB_NAME)
        self.db.executescript(_SCHEMA)
        if current.exists() and self.rebuild:
            self._keep_embedding_cache(current)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self._commit()
            else:
                self.db.close()
                shutil.rmtree(self.build_dir, ignore_errors=True)
        finally:
            self._unlock()

    # --- articles and chunks ---------------------------------------------------------------------

    def source_records(self) -> dict[str, SourceRecord]:
        return {row[0]: _source(row) for row in self.db.execute("SELECT * FROM sources")}

    def put_source(
        self, record: SourceRecord, articles: Iterable[Article], chunks: Iterable[Chunk], facts: Iterable[Fact] = ()
    ) -> None:
        """Replace everything known about one source file (its articles, chunks and figures), in one transaction."""
        with self.db:
            self._delete(record.source_file)
            self.db.execute(
                "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?)",
                (*_record_row(record), json.dumps(list(record.warnings), ensure_ascii=False)),
            )
            self.db.executemany(
                "INSERT INTO articles VALUES (?, ?, ?, ?)",
                [(a.id, a.source_file, a.ordinal, a.model_dump_json()) for a in articles],
            )
            for chunk in chunks:
                int_id = faiss_id(chunk.id)
                self.db.execute(
                    f"INSERT INTO chunks ({_CHUNK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        int_id, chunk.id, chunk.article_id, record.source_file, chunk.position, chunk.text,
                        chunk.tokens, chunk.start, chunk.end, chunk.context, text_sha(chunk.embed_text),
                    ),
                )  # fmt: skip
                self.db.execute(
                    "INSERT INTO chunks_fts (rowid, words) VALUES (?, ?)", (int_id, segmented(chunk.embed_text))
                )
                self.added_ids.add(int_id)
                self.removed_ids.discard(int_id)
            self.db.executemany(
                "INSERT INTO facts VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (f.id, f.article_id, f.source_file, f.indicator, f.owner, f.period, f.model_dump_json())
                    for f in facts
                ],
            )

    def chunk_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def delete_source(self, source_file: str) -> None:
        with self.db:
            self._delete(source_file)

    def _delete(self, source_file: str) -> None:
        gone = [row[0] for row in self.db.execute("SELECT int_id FROM chunks WHERE source_file = ?", (source_file,))]
        self.db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(i,) for i in gone])
        self.db.execute("DELETE FROM chunks WHERE source_file = ?", (source_file,))
        self.db.execute("DELETE FROM facts WHERE source_file = ?", (source_file,))
        self.db.execute("DELETE FROM articles WHERE source_file = ?", (source_file,))
        self.db.execute("DELETE FROM sources WHERE source_file = ?", (source_file,))
        self.removed_ids.update(gone)
        self.added_ids.difference_update(gone)

    # --- embeddings and vectors ------------------------------------------------------------------

    def texts_to_embed(self, model_id: str) -> list[tuple[str, str]]:
        """(sha, text) of every chunk text this model has not embedded yet: only those cost time."""
        rows = self.db.execute(
            "SELECT DISTINCT c.embed_sha, c.context, c.text FROM chunks c LEFT JOIN embedding_cache e "
            "ON e.model_id = ? AND e.text_sha = c.embed_sha WHERE e.text_sha IS NULL",
            (model_id,),
        ).fetchall()
        return [(sha, f"{context}\n{text}" if context else text) for sha, context, text in rows]

    def cache_embeddings(self, model_id: str, shas: list[str], vectors: np.ndarray) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO embedding_cache VALUES (?, ?, ?)",
                [(model_id, sha, v.astype(np.float32).tobytes()) for sha, v in zip(shas, vectors, strict=True)],
            )

    def sync_vectors(self, model_id: str, dim: int, index_type: IndexType) -> None:
        """Bring vectors.faiss in line with the chunks: removals and additions only where FAISS can,
        a rebuild from the cached vectors (no re-embedding) where it cannot or nothing exists yet."""
        from rag.vectors import build_index, load_index, remove_ids, save_index, supports_removal

        path = self.build_dir / VECTORS_NAME
        # The pipeline rebuilds from scratch when the embedder or index type changed, so a vectors
        # file copied from the previous build always matches them.
        incremental = path.exists() and (supports_removal(index_type) or not self.removed_ids)
        if incremental:
            index = load_index(path)
            if self.removed_ids:
                remove_ids(index, np.fromiter(self.removed_ids, dtype=np.int64))
            ids, vectors = self._vectors_of(self.added_ids, model_id, dim)
            if len(ids):
                index.add_with_ids(vectors, ids)
        else:
            ids, vectors = self._vectors_of(None, model_id, dim)
            index = build_index(index_type, ids, vectors)
        save_index(index, path)

    def _vectors_of(self, int_ids: set[int] | None, model_id: str, dim: int) -> tuple[np.ndarray, np.ndarray]:
        query = (
            "SELECT c.int_id, e.vector FROM chunks c JOIN embedding_cache e "
            "ON e.model_id = ? AND e.text_sha = c.embed_sha ORDER BY c.int_id"
        )
        rows = [row for row in self.db.execute(query, (model_id,)) if int_ids is None or row[0] in int_ids]
        ids = np.array([row[0] for row in rows], dtype=np.int64)
        vectors = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), dim)
        return ids, np.ascontiguousarray(vectors)

    def _keep_embedding_cache(self, previous_db: Path) -> None:
        """A rebuild starts over, but vectors already computed for the same texts are still right."""
        with self.db:
            self.db.execute("ATTACH DATABASE ? AS previous", (f"file:{previous_db}?mode=ro",))
            # An older format has no cache: then there is nothing to keep.
            with contextlib.suppress(sqlite3.OperationalError):
                self.db.execute("INSERT OR IGNORE INTO embedding_cache SELECT * FROM previous.embedding_cache")
        self.db.execute("DETACH DATABASE previous")

    # --- commit ------------------------------------------------------------------------------------

    def _commit(self) -> None:
        sources = self.source_records()
        n_articles = self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        n_chunks = self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        self.db.close()
        manifest = {
            "format_version": FORMAT_VERSION,
            "index_name": self.index_dir.name,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "sources": {name: record.sha256 for name, record in sorted(sources.items())},
            "counts": {"sources": len(sources), "articles": n_articles, "chunks": n_chunks},
            **self.extra_manifest,
        }
        _write_durably(self.build_dir / MANIFEST_NAME, json.dumps(manifest, ensure_ascii=False, indent=2))
        for name in (DB_NAME, VECTORS_NAME):
            if (self.build_dir / name).exists():
                _fsync_file(self.build_dir / name)
        _fsync_dir(self.build_dir)
        previous = self.index_dir.resolve() if self.index_dir.is_symlink() else None
        _swap_symlink(self.index_dir, os.path.relpath(self.build_dir, self.index_dir.parent))
        if previous is not None and previous != self.build_dir.resolve():
            shutil.rmtree(previous, ignore_errors=True)  # open readers keep their files until they close

    def _lock(self) -> None:
        lock_path = self.index_dir.parent / f".{self.index_dir.name}.lock"
        self._lock_file = open(lock_path, "w")  # noqa: SIM115 - held until __exit__
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock_file.close()
            raise IndexLockedError(self.index_dir) from exc
        self._remove_stale_builds()

    def _unlock(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()

    def _remove_stale_builds(self) -> None:
        """Builds left by a writer that crashed: nobody points at them and nobody writes them now."""
        if not self.builds.exists():
            return
        current = self.index_dir.resolve() if self.index_dir.is_symlink() else None
        for build in self.builds.glob(f"{self.index_dir.name}-*"):
            if build.resolve() != current:
                shutil.rmtree(build, ignore_errors=True)


_CHUNK_COLUMNS = (
    "int_id, id, article_id, source_file, position, text, tokens, start_offset, end_offset, context, embed_sha"
)


def _stored_chunk(row: tuple[Any, ...]) -> StoredChunk:
    int_id, chunk_id, article_id, source_file, position, text, tokens, start, end, context, _ = row
    chunk = Chunk(
        id=chunk_id, article_id=article_id, position=position, text=text, tokens=tokens,
        start=start, end=end, context=context,
    )  # fmt: skip
    return StoredChunk(int_id=int_id, chunk=chunk, source_file=source_file)


def _source(row: tuple[Any, ...]) -> SourceRecord:
    source_file, sha256, shape, encoding, n_articles, warnings = row
    return SourceRecord(source_file, sha256, shape, encoding, n_articles, tuple(json.loads(warnings)))


def _record_row(record: SourceRecord) -> tuple[str, str, str, str, int]:
    return (record.source_file, record.sha256, record.shape, record.encoding, record.n_articles)


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_symlink(link: Path, target: str) -> None:
    temporary = link.with_name(f".{link.name}.{uuid.uuid4().hex[:6]}.tmp")
    os.symlink(target, temporary)
    os.replace(temporary, link)  # rename(2) is atomic: readers see the old build or the new one
    _fsync_dir(link.parent)


@contextlib.contextmanager
def open_index(index_dir: Path) -> Iterator[IndexReader]:
    reader = IndexReader(index_dir)
    try:
        yield reader
    finally:
        reader.close()
