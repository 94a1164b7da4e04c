"""The straight line: corpus -> articles -> index. Each step lives in its own module; this one
only sequences them.

    report = ingest(Settings())
    print(report.summary())
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rag.config import Settings
from rag.ingest import LOADER_VERSION, LoadedSource, corpus_files, file_sha256, try_load_source
from rag.store import IndexWriter, SourceRecord, read_manifest

FileStatus = Literal["new", "changed", "unchanged", "removed", "skipped", "refused"]


@dataclass(frozen=True)
class FileReport:
    source_file: str
    status: FileStatus
    shape: str | None = None
    encoding: str | None = None
    articles: int = 0
    message: str = ""


@dataclass(frozen=True)
class IngestReport:
    index_dir: Path
    files: tuple[FileReport, ...]
    wrote_index: bool

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
        return f"{len(self.changed)} file(s) updated; {total} articles in {self.index_dir}."


def ingest(settings: Settings, *, rebuild: bool = False, on_file: Callable[[str], None] | None = None) -> IngestReport:
    """Bring the index up to date with the corpus folder, touching only files that changed."""
    paths = corpus_files(settings.corpus_dir)
    hashes = {path.name: file_sha256(path) for path in paths}
    manifest = read_manifest(settings.index_dir) if settings.index_dir.exists() else None
    if manifest and not rebuild and _up_to_date(manifest, hashes):
        return IngestReport(settings.index_dir, _reports_from_manifest(manifest), wrote_index=False)

    rebuild = rebuild or manifest is None or manifest.get("loader_version") != LOADER_VERSION
    max_bytes = int(settings.max_source_mb * 2**20)
    reports: list[FileReport] = []
    problems: dict[str, dict[str, object]] = {}
    with IndexWriter(settings.index_dir, rebuild=rebuild) as writer:
        known = writer.source_records()
        for path in paths:
            if on_file is not None:
                on_file(path.name)
            previous = known.get(path.name)
            if previous is not None and previous.sha256 == hashes[path.name]:
                reports.append(_report(previous, "unchanged"))
                continue
            loaded = try_load_source(path, max_bytes)
            if isinstance(loaded, LoadedSource):
                writer.put_source(_record(loaded), loaded.articles)
                reports.append(_report(_record(loaded), "changed" if previous else "new"))
                continue
            problems[path.name] = {
                "sha256": hashes[path.name],
                "message": loaded.message,
                "fatal": loaded.fatal,
            }
            if loaded.fatal:
                kept = f"; its {previous.n_articles} earlier articles are kept" if previous else ""
                reports.append(FileReport(path.name, "refused", message=loaded.message + kept))
            else:
                writer.delete_source(path.name)
                reports.append(FileReport(path.name, "skipped", message=loaded.message))
        for gone in sorted(set(known) - set(hashes)):
            writer.delete_source(gone)
            reports.append(FileReport(gone, "removed"))
        writer.extra_manifest = {"loader_version": LOADER_VERSION, "problems": problems}
    return IngestReport(settings.index_dir, tuple(reports), wrote_index=True)


def _up_to_date(manifest: dict[str, object], hashes: dict[str, str]) -> bool:
    if manifest.get("loader_version") != LOADER_VERSION:
        return False
    recorded = dict(manifest.get("sources", {}))  # type: ignore[call-overload]
    problems = manifest.get("problems", {})
    recorded.update({name: p["sha256"] for name, p in problems.items()})  # type: ignore[union-attr]
    return recorded == hashes


def _reports_from_manifest(manifest: dict[str, object]) -> tuple[FileReport, ...]:
    """Nothing to do: still say which files were refused, since the user has to act on them."""
    problems: dict[str, dict[str, object]] = manifest.get("problems", {})  # type: ignore[assignment]
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


def _report(record: SourceRecord, status: FileStatus) -> FileReport:
    return FileReport(
        record.source_file,
        status,
        shape=record.shape,
        encoding=record.encoding,
        articles=record.n_articles,
        message="; ".join(record.warnings),
    )
