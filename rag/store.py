"""The on-disk index: `indexes/<name>` is a symlink to one complete build under `indexes/.builds/`.

A writer copies the current build, changes the copy, and swaps the symlink in one atomic rename, so a
reader always sees a whole build and a crash at any moment leaves the previous one in place. A lock
file keeps two writers apart.

    with IndexWriter(settings.index_dir) as writer:
        writer.replace_source(loaded)
    store = IndexReader(settings.index_dir)
    store.articles()
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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from rag.errors import ArticleNotFoundError, IndexError_, IndexLockedError, IndexNotFoundError
from rag.models import Article

FORMAT_VERSION = 1
DB_NAME = "index.sqlite"
MANIFEST_NAME = "manifest.json"

_SCHEMA = """
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
"""


@dataclass(frozen=True)
class SourceRecord:
    source_file: str
    sha256: str
    shape: str
    encoding: str
    n_articles: int
    warnings: tuple[str, ...]


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    path = index_dir / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
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
        uri = f"file:{self.path / DB_NAME}?mode=ro"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)

    def close(self) -> None:
        self._db.close()

    def sources(self) -> list[SourceRecord]:
        rows = self._db.execute("SELECT * FROM sources ORDER BY source_file").fetchall()
        return [SourceRecord(*row[:5], tuple(json.loads(row[5]))) for row in rows]

    def articles(self, source_file: str | None = None) -> list[Article]:
        query = "SELECT data FROM articles"
        args: tuple[str, ...] = ()
        if source_file is not None:
            query += " WHERE source_file = ?"
            args = (source_file,)
        rows = self._db.execute(query + " ORDER BY source_file, ordinal", args).fetchall()
        return [Article.model_validate_json(row[0]) for row in rows]

    def article(self, article_id: str) -> Article:
        row = self._db.execute("SELECT data FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            raise ArticleNotFoundError(article_id)
        return Article.model_validate_json(row[0])


class IndexWriter:
    """Builds the next version of an index aside and swaps it in on success; discards it on error."""

    def __init__(self, index_dir: Path, *, rebuild: bool = False) -> None:
        self.index_dir = index_dir
        self.rebuild = rebuild
        self.builds = index_dir.parent / ".builds"
        self.build_dir = self.builds / f"{index_dir.name}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self._lock_file: Any = None
        self.db: sqlite3.Connection
        self.extra_manifest: dict[str, Any] = {}  # later pipeline steps record their settings here

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
        self.db = sqlite3.connect(self.build_dir / DB_NAME)
        self.db.executescript(_SCHEMA)
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

    def source_records(self) -> dict[str, SourceRecord]:
        rows = self.db.execute("SELECT * FROM sources").fetchall()
        return {row[0]: SourceRecord(*row[:5], tuple(json.loads(row[5]))) for row in rows}

    def put_source(self, record: SourceRecord, articles: tuple[Article, ...]) -> None:
        """Replace everything known about one source file, in one transaction."""
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

    def delete_source(self, source_file: str) -> None:
        with self.db:
            self._delete(source_file)

    def _delete(self, source_file: str) -> None:
        self.db.execute("DELETE FROM articles WHERE source_file = ?", (source_file,))
        self.db.execute("DELETE FROM sources WHERE source_file = ?", (source_file,))

    def _commit(self) -> None:
        sources = self.source_records()
        n_articles = self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        self.db.close()
        manifest = {
            "format_version": FORMAT_VERSION,
            "index_name": self.index_dir.name,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "sources": {name: record.sha256 for name, record in sorted(sources.items())},
            "counts": {"sources": len(sources), "articles": n_articles},
            **self.extra_manifest,
        }
        _write_durably(self.build_dir / MANIFEST_NAME, json.dumps(manifest, ensure_ascii=False, indent=2))
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


def _record_row(record: SourceRecord) -> tuple[str, str, str, str, int]:
    return (record.source_file, record.sha256, record.shape, record.encoding, record.n_articles)


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
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
