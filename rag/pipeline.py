"""The straight line: corpus -> articles -> chunks -> vectors -> index. Each step lives in its own
module; this one only sequences them.

    report = ingest(Settings())
    print(report.summary())
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rag.chunking import ChunkingSettings, chunk_article
from rag.config import Settings
from rag.embedding import embedder_signature, get_embedder
from rag.facts.extract import EXTRACT_VERSION, extract_facts
from rag.ingest import LOADER_VERSION, LoadedSource, corpus_files, file_sha256, try_load_source
from rag.ingest.uploads import UploadStore
from rag.lexicon.userdict import apply_user_words, manifest_entry, read_user_dict
from rag.store import SourceRecord, StoreWriter, store_manifest, store_writer

FileStatus = Literal["new", "changed", "unchanged", "removed", "skipped", "refused"]


@dataclass(frozen=True)
class FileReport:
    source_file: str
    status: FileStatus
    shape: str | None = None
    encoding: str | None = None
    articles: int = 0
    chunks: int = 0
    message: str = ""


@dataclass(frozen=True)
class IngestReport:
    index_dir: Path
    files: tuple[FileReport, ...]
    wrote_index: bool
    embedded: int = 0
    total_chunks: int = 0
    rebuilt_because: str | None = None

    @property
    def refused(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "refused"]

    @property
    def changed(self) -> list[FileReport]:
        return [f for f in self.files if f.status in ("new", "changed", "removed", "skipped")]

    def summary(self) -> str:
        if not self.wrote_index:
            return f"Nothing changed in the corpus; {self.index_dir} is up to date."
        total = sum(f.articles for f in self.files if f.status != "removed")
        because = f" (rebuilt: {self.rebuilt_because})" if self.rebuilt_because else ""
        if not self.files:
            return f"The corpus folder holds no source files; add .txt or .md files to it. {self.index_dir} is empty."
        return (
            f"{len(self.changed)} file(s) updated{because}; embedded {self.embedded} new chunk(s); "
            f"{total} articles and {self.total_chunks} chunks in {self.index_dir}."
        )


ProgressCallback = Callable[[str, int, int], None]  # (stage, done, total)


def chunking_settings(settings: Settings) -> ChunkingSettings:
    return ChunkingSettings(
        max_tokens=settings.chunk_tokens,
        overlap_sentences=settings.chunk_overlap_sentences,
        encoding=settings.tokenizer,
    )


def build_signature(settings: Settings) -> dict[str, Any]:
    """Everything that shapes an index besides the corpus: change any of it and the index is rebuilt."""
    chunking = chunking_settings(settings)
    return {
        "loader_version": LOADER_VERSION,
        "embedder": embedder_signature(settings),
        "chunking": {
            "max_tokens": chunking.max_tokens,
            "overlap_sentences": chunking.overlap_sentences,
            "tokenizer": chunking.encoding,
        },
        "index_type": settings.index_type,
        "facts": {"version": EXTRACT_VERSION, "home_place": settings.home_place},
        "user_dict": read_user_dict(settings.user_dict).sha256 if settings.user_dict else None,
    }


def ingest(settings: Settings, *, rebuild: bool = False, progress: ProgressCallback | None = None) -> IngestReport:
    """Bring the index up to date with the corpus folder, touching only files that changed."""
    report_progress = progress or (lambda stage, done, total: None)
    # Documents sent over HTTP are read beside the corpus folder, with the fields their senders gave.
    uploads = UploadStore.of(settings)
    uploaded = uploads.originals()
    paths = corpus_files(settings.corpus_dir) + uploaded
    hashes = {path.name: uploads.source_hash(path) if path in uploaded else file_sha256(path) for path in paths}
    manifest = store_manifest(settings)
    signature = build_signature(settings)
    if manifest and not rebuild and manifest.get("build") == signature and _hashes_match(manifest, hashes):
        return IngestReport(
            settings.index_dir, _reports_from_manifest(manifest), wrote_index=False,
            total_chunks=int(manifest.get("counts", {}).get("chunks", 0)),
        )  # fmt: skip

    reason = _rebuild_reason(manifest, signature, rebuild)
    user_dict = read_user_dict(settings.user_dict) if settings.user_dict else None
    apply_user_words(user_dict.words if user_dict else ())  # before any chunk is segmented
    max_bytes = int(max(settings.max_source_mb, settings.max_upload_mb) * 2**20)
    chunking = chunking_settings(settings)
    reports: list[FileReport] = []
    problems: dict[str, dict[str, object]] = {}
    with store_writer(settings, rebuild=reason is not None) as writer:
        known = writer.source_records()
        # Removals first: a document replaced in another format (doc-1.html -> doc-1.pdf) reuses its article ids.
        for gone in sorted(set(known) - set(hashes)):
            writer.delete_source(gone)
            reports.append(FileReport(gone, "removed"))
        for done, path in enumerate(paths):
            report_progress("read", done, len(paths))
            previous = known.get(path.name)
            if previous is not None and previous.sha256 == hashes[path.name]:
                reports.append(_report(previous, "unchanged"))
                continue
            fields = uploads.document_fields(path) if path in uploaded else None
            loaded = try_load_source(path, max_bytes, fields)
            if isinstance(loaded, LoadedSource):
                chunks = [c for article in loaded.articles for c in chunk_article(article, chunking)]
                facts = [f for article in loaded.articles for f in extract_facts(article, settings.home_place)]
                writer.put_source(_record(loaded), loaded.articles, chunks, facts)
                reports.append(_report(_record(loaded), "changed" if previous else "new", chunks=len(chunks)))
                continue
            problems[path.name] = {"sha256": hashes[path.name], "message": loaded.message, "fatal": loaded.fatal}
            if loaded.fatal:
                kept = f"; its {previous.n_articles} earlier articles are kept" if previous else ""
                reports.append(FileReport(path.name, "refused", message=loaded.message + kept))
            else:
                writer.delete_source(path.name)
                reports.append(FileReport(path.name, "skipped", message=loaded.message))
        report_progress("read", len(paths), len(paths))
        embedded = _embed_new_chunks(writer, settings, report_progress)
        embedder = get_embedder(settings)
        writer.sync_vectors(embedder.model_id, embedder.dim, settings.index_type)
        writer.extra_manifest = {
            "build": signature,
            "embedder": {"model_id": embedder.model_id, "dim": embedder.dim},
            "problems": problems,
            "user_dict": manifest_entry(user_dict),
        }
        total_chunks = writer.chunk_count()
    return IngestReport(
        settings.index_dir, tuple(reports), wrote_index=True, embedded=embedded,
        total_chunks=total_chunks, rebuilt_because=reason,
    )  # fmt: skip


def _embed_new_chunks(writer: StoreWriter, settings: Settings, progress: ProgressCallback) -> int:
    embedder = get_embedder(settings)
    todo = writer.texts_to_embed(embedder.model_id)
    done = 0
    progress("embed", 0, len(todo))
    batch = max(embedder.batch_size * embedder.concurrency, 64)  # a remote embedder sends its batches at once
    for start in range(0, len(todo), batch):
        part = todo[start : start + batch]
        vectors = embedder.embed_passages([text for _, text in part])
        writer.cache_embeddings(embedder.model_id, [sha for sha, _ in part], vectors)
        done += len(part)
        progress("embed", done, len(todo))
    return len(todo)


def _rebuild_reason(manifest: dict[str, Any] | None, signature: dict[str, Any], asked: bool) -> str | None:
    if asked:
        return "--rebuild"
    if manifest is None:
        return None  # a first build: nothing to rebuild
    built = manifest.get("build", {})
    changed = [key for key in signature if built.get(key) != signature[key]]
    return f"{', '.join(changed)} changed" if changed else None


def _hashes_match(manifest: dict[str, Any], hashes: dict[str, str]) -> bool:
    recorded = dict(manifest.get("sources", {}))
    recorded.update({name: p["sha256"] for name, p in manifest.get("problems", {}).items()})
    return recorded == hashes


def _reports_from_manifest(manifest: dict[str, Any]) -> tuple[FileReport, ...]:
    """Nothing to do: still say which files were refused, since the user has to act on them."""
    problems: dict[str, dict[str, Any]] = manifest.get("problems", {})
    return tuple(
        FileReport(name, "refused" if p["fatal"] else "skipped", message=str(p["message"]))
        for name, p in sorted(problems.items())
    )


def _record(loaded: LoadedSource) -> SourceRecord:
    return SourceRecord(
        source_file=loaded.source_file,
        sha256=loaded.sha256,
        shape=loaded.shape,
        encoding=loaded.encoding,
        n_articles=len(loaded.articles),
        warnings=loaded.warnings,
    )


def _report(record: SourceRecord, status: FileStatus, chunks: int = 0) -> FileReport:
    return FileReport(
        record.source_file, status, shape=record.shape, encoding=record.encoding,
        articles=record.n_articles, chunks=chunks, message="; ".join(record.warnings),
    )  # fmt: skip
