"""Documents sent over HTTP or `rag documents`: add, replace, delete, list, and the jobs that index them.

    documents = Documents(settings)
    added = documents.add(Upload(data=pdf_bytes, filename="a01.pdf"), DocumentFields(date="2023-06-12"))
    documents.run(added.job)            # the CLI runs a job itself; the service's worker thread runs them queued
    documents.job(added.job.job_id).status   # "done"

A write checks the upload (rag.ingest.checks: not empty, not too large, the type it claims, readable) and
stores its original under the index root (rag.ingest.uploads) before it answers; the job then runs the same
incremental, atomic build as `rag ingest`, which reads the stored originals beside the corpus. One job runs at a
time (and the index lock keeps a `rag ingest` apart); the service keeps answering from the current build until
the job's build is swapped in. Jobs are files, so their state outlives the process: a job that was queued or
running when the service stopped is reported as failed, with the previous index still in place.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.config import Settings
from rag.errors import DocumentNotFoundError, IndexLockedError, JobNotFoundError, RagError
from rag.ingest.checks import Upload, checked_kind
from rag.ingest.uploads import StoredFields, UploadStore, write_aside
from rag.models import DocumentFields
from rag.store import Store

logger = logging.getLogger(__name__)

JobStatus = Literal["queued", "running", "done", "failed"]
JobKind = Literal["add", "replace", "delete"]
LOCK_WAIT_S = 300.0  # how long a job waits for a `rag ingest` that holds the index lock
_LOCK_POLL_S = 0.5
_INTERRUPTED = (
    "interrupted: the service stopped before this job finished; the index is still the one before it. "
    "The document's original is kept: the next job or `rag ingest` indexes it"
)


class Job(BaseModel):
    """One write to the index, watched at `GET /api/jobs/{job_id}`."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    kind: JobKind
    document_id: str
    status: JobStatus = "queued"
    progress: float = Field(default=0.0, ge=0, le=1)
    articles: int = 0
    chunks: int = 0
    embedded: int = Field(default=0, description="Chunks the job had to embed (0 when the text was indexed before).")
    error: str | None = None
    created_at: str = ""
    finished_at: str | None = None


class DocumentInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    document_id: str
    filename: str | None
    format: str
    bytes: int
    title: str | None
    publication: str | None
    date: str | None
    url: str | None
    created_at: str
    status: Literal["queued", "running", "indexed", "failed"]
    articles: int
    chunks: int
    job_id: str | None


class Added(BaseModel):
    document: DocumentInfo
    job: Job


class Documents:
    """The library behind `/api/documents` and `rag documents`."""

    def __init__(self, settings: Settings, *, lock_wait_s: float = LOCK_WAIT_S) -> None:
        self.settings = settings
        self.lock_wait_s = lock_wait_s
        self.store = UploadStore.of(settings)
        self.jobs_dir = self.store.root / "jobs"
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._write = threading.Lock()  # one write request at a time decides ids and stores files
        # Called after each successful build and before its job is done (the service opens the new build there), so
        # a client that sees "done" is answered from the build that holds its document.
        self.on_built: Callable[[], None] | None = None

    # --- writes ---------------------------------------------------------------------------------------------

    def add(self, upload: Upload, fields: DocumentFields, index: Store | None = None) -> Added:
        """Store a new document and queue its job; the same bytes again are the same document."""
        kind = checked_kind(upload, self.settings, fields)
        sha = hashlib.sha256(upload.data).hexdigest()
        with self._write:
            document_id = self._find_by_bytes(sha) or f"doc-{sha[:16]}"
            self._store(document_id, kind, upload, sha, fields, keep_created=True)
            job = self._submit("add", document_id)
        return Added(document=self.get(document_id, index), job=job)

    def replace(self, document_id: str, upload: Upload, fields: DocumentFields) -> Job:
        self._require(document_id)
        kind = checked_kind(upload, self.settings, fields)
        with self._write:
            self._store(document_id, kind, upload, hashlib.sha256(upload.data).hexdigest(), fields, keep_created=True)
            return self._submit("replace", document_id)

    def delete(self, document_id: str) -> Job:
        self._require(document_id)
        with self._write:
            self.store.remove(document_id)
            return self._submit("delete", document_id)

    def _store(
        self, document_id: str, kind: str, upload: Upload, sha: str, fields: DocumentFields, *, keep_created: bool
    ) -> None:
        previous = self.store.fields(document_id)
        created = previous.created_at if previous is not None and keep_created else _now()
        stored = StoredFields(
            **fields.model_dump(), filename=upload.filename, created_at=created, bytes_sha256=sha, size=len(upload.data)
        )
        self.store.put(document_id, kind, upload.data, stored)

    def _find_by_bytes(self, sha: str) -> str | None:
        for original in self.store.originals():
            stored = self.store.fields(original.stem)
            if stored is not None and stored.bytes_sha256 == sha:
                return original.stem
        return None

    def _require(self, document_id: str) -> None:
        if self.store.original(document_id) is None:
            raise DocumentNotFoundError(document_id)

    # --- reads ----------------------------------------------------------------------------------------------

    def page(self, index: Store | None = None, offset: int = 0, limit: int = 50) -> tuple[int, list[DocumentInfo]]:
        """(total, one page of documents, oldest first)."""
        originals = sorted(self.store.originals(), key=lambda p: (self._created(p), p.stem))
        page = originals[offset : offset + limit]
        return len(originals), [self.get(p.stem, index) for p in page]

    def get(self, document_id: str, index: Store | None = None) -> DocumentInfo:
        original = self.store.original(document_id)
        stored = self.store.fields(document_id)
        if original is None or stored is None:
            raise DocumentNotFoundError(document_id)
        latest = self._latest_job(document_id)
        articles = index.articles(source_file=original.name) if index is not None else []
        chunks = index.chunk_counts().get(original.name, 0) if index is not None else 0
        first = articles[0] if articles else None
        status = {"queued": "queued", "running": "running", "failed": "failed"}.get(latest.status if latest else "")
        return DocumentInfo(
            document_id=document_id,
            filename=stored.filename,
            format=original.suffix.lstrip("."),
            bytes=stored.size,
            title=stored.title or (first.display_title if first else None),
            publication=stored.publication or (first.publication if first else None),
            date=stored.date or (first.date if first else None),
            url=stored.url or (first.url if first else None),
            created_at=stored.created_at,
            status=status or "indexed",
            articles=len(articles),
            chunks=chunks,
            job_id=latest.job_id if latest else None,
        )

    def job(self, job_id: str) -> Job:
        path = self.jobs_dir / f"{job_id}.json"
        if not job_id.startswith("job-") or "/" in job_id or not path.exists():
            raise JobNotFoundError(job_id)
        return Job.model_validate_json(path.read_text(encoding="utf-8"))

    def _latest_job(self, document_id: str) -> Job | None:
        if not self.jobs_dir.is_dir():
            return None
        jobs = [Job.model_validate_json(p.read_text(encoding="utf-8")) for p in self.jobs_dir.glob("job-*.json")]
        mine = [j for j in jobs if j.document_id == document_id]
        return max(mine, key=lambda j: j.created_at) if mine else None

    def _created(self, original: Path) -> str:
        stored = self.store.fields(original.stem)
        return stored.created_at if stored is not None else ""

    # --- jobs -----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Run queued jobs in a background thread (the service); jobs a stopped service left are failed."""
        self._fail_interrupted()
        self._worker = threading.Thread(target=self._work, name="document-jobs", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=60)
            self._worker = None

    def _submit(self, kind: JobKind, document_id: str) -> Job:
        job = Job(job_id=f"job-{uuid.uuid4().hex[:16]}", kind=kind, document_id=document_id, created_at=_now())
        self._save(job)
        if self._worker is not None:
            self._queue.put(job.job_id)
        return job

    def _work(self) -> None:
        while (job_id := self._queue.get()) is not None:
            try:
                self.run(self.job(job_id))
            except Exception:  # a bug must not stop the worker: the job is failed and says so
                logger.exception("document job %s failed", job_id)

    def run(self, job: Job) -> Job:
        """Run one job to its end, in this thread: the incremental build of `rag ingest`, then the counts."""
        from rag.pipeline import ingest

        job = self._save(job.model_copy(update={"status": "running"}))
        report_progress = self._progress_reporter(job)
        deadline = time.monotonic() + self.lock_wait_s
        try:
            while True:
                try:
                    report = ingest(self.settings, progress=report_progress)
                    break
                except IndexLockedError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(_LOCK_POLL_S)
        except RagError as exc:
            return self._save(job.model_copy(update={"status": "failed", "error": str(exc), "finished_at": _now()}))
        except Exception as exc:
            error = f"the index build failed ({type(exc).__name__}: {exc}); the previous index is still served"
            self._save(job.model_copy(update={"status": "failed", "error": error, "finished_at": _now()}))
            raise
        mine = [f for f in report.files if Path(f.source_file).stem == job.document_id]
        refused = [f for f in mine if f.status == "refused"]
        if refused:
            error = refused[0].message
            return self._save(job.model_copy(update={"status": "failed", "error": error, "finished_at": _now()}))
        if self.on_built is not None:
            self.on_built()
        articles, chunks = self._counts(job.document_id)
        done = {"status": "done", "progress": 1.0, "articles": articles, "chunks": chunks, "finished_at": _now()}
        return self._save(job.model_copy(update={**done, "embedded": report.embedded}))

    def _counts(self, document_id: str) -> tuple[int, int]:
        from rag.store import open_store

        original = self.store.original(document_id)
        if original is None:
            return 0, 0
        with open_store(self.settings) as index:
            return len(index.articles(source_file=original.name)), index.chunk_counts().get(original.name, 0)

    def _progress_reporter(self, job: Job) -> Callable[[str, int, int], None]:
        shares = {"read": (0.0, 0.2), "embed": (0.2, 0.75)}  # the rest: writing vectors and swapping the build in
        last = [0.0]

        def report(stage: str, done: int, total: int) -> None:
            start, width = shares.get(stage, (0.95, 0.0))
            value = round(start + width * (done / total if total else 1.0), 3)
            if value - last[0] >= 0.05:
                last[0] = value
                self._save(job.model_copy(update={"progress": value}))

        return report

    def _fail_interrupted(self) -> None:
        if not self.jobs_dir.is_dir():
            return
        for path in self.jobs_dir.glob("job-*.json"):
            job = Job.model_validate_json(path.read_text(encoding="utf-8"))
            if job.status in ("queued", "running"):
                self._save(job.model_copy(update={"status": "failed", "error": _INTERRUPTED, "finished_at": _now()}))

    def _save(self, job: Job) -> Job:
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        write_aside(self.jobs_dir / f"{job.job_id}.json", job.model_dump_json(indent=2).encode())
        return job


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
