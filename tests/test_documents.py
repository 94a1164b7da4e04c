"""The documents library: add, replace, delete and list documents, and the jobs that index them, on a real index."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from rag.documents import Documents
from rag.errors import DocumentNotFoundError, MismatchedTypeError, RejectedDocumentError, UploadTooLargeError
from rag.ingest.checks import Upload
from rag.models import DocumentFields
from rag.store import IndexWriter, open_store
from tests.conftest import CORPUS
from tests.documents import epaper_pdf, news_page, word_document
from tests.ingest.test_pdf import _drawn
from tests.test_cli import RAG
from tests.test_crash_safety import wait_for_new_build

WEB = "004_90004a5f8ebd7398.txt"
URL = "https://www.hz66.com/2023/0612/1.shtml"


@pytest.fixture(scope="module")
def article(seeds):
    return next(a for a in seeds[WEB].articles if a.title.startswith("湖州工业投资"))


@pytest.fixture
def page(article) -> Upload:
    return Upload(news_page(article, site="湖州在线", date="2023-06-12", url=URL), "page.html", "text/html")


def _articles(settings, name: str):
    with open_store(settings) as index:
        return index.articles(source_file=name)


def test_documents_add_indexes_the_page_with_its_metadata(settings, page, article):
    documents = Documents(settings)
    added = documents.add(page, DocumentFields())
    job = documents.run(added.job)
    assert (job.status, job.progress, job.articles, job.error) == ("done", 1.0, 1, None)
    assert job.chunks > 0 and job.embedded == job.chunks
    [indexed] = _articles(settings, f"{added.document.document_id}.html")
    assert (indexed.title, indexed.publication, indexed.date, indexed.url) == (
        article.title,
        "湖州在线",
        "2023-06-12",
        URL,
    )


def test_documents_same_bytes_are_the_same_document_and_embed_nothing(settings, page):
    documents = Documents(settings)
    first = documents.add(page, DocumentFields())
    documents.run(first.job)
    again = documents.add(Upload(page.data, "renamed.html"), DocumentFields())
    job = documents.run(again.job)
    assert again.document.document_id == first.document.document_id
    assert (job.status, job.embedded) == ("done", 0)
    assert documents.page()[0] == 1


def test_documents_fields_override_what_the_file_says(settings, article):
    documents = Documents(settings)
    fields = DocumentFields(date="2023-07-01", publication="湖州日报", url=URL)
    added = documents.add(Upload(word_document(article), "report.docx"), fields)
    documents.run(added.job)
    [indexed] = _articles(settings, f"{added.document.document_id}.docx")
    assert (indexed.date, indexed.date_kind, indexed.publication, indexed.url) == (
        "2023-07-01", "published", "湖州日报", URL,
    )  # fmt: skip


def test_documents_replace_keeps_the_id_and_changes_the_articles(settings, page, seeds, article):
    documents = Documents(settings)
    added = documents.add(page, DocumentFields())
    documents.run(added.job)
    other = next(a for a in seeds[WEB].articles if a.title.startswith("吴兴智造"))
    job = documents.run(
        documents.replace(added.document.document_id, Upload(epaper_pdf([article, other])), DocumentFields())
    )
    assert (job.status, job.articles) == ("done", 2)
    info = documents.get(added.document.document_id)
    assert info.format == "pdf"
    assert not _articles(settings, f"{added.document.document_id}.html")


def test_documents_delete_removes_its_articles(settings, page):
    documents = Documents(settings)
    added = documents.add(page, DocumentFields())
    documents.run(added.job)
    document_id = added.document.document_id
    job = documents.run(documents.delete(document_id))
    assert (job.status, job.articles) == ("done", 0)
    assert not _articles(settings, f"{document_id}.html")
    with pytest.raises(DocumentNotFoundError):
        documents.get(document_id)
    with pytest.raises(DocumentNotFoundError):
        documents.delete(document_id)


@pytest.mark.parametrize(
    ("upload", "error", "says"),
    [
        (Upload(b"", "empty.pdf"), RejectedDocumentError, "empty"),
        (Upload(b"<!DOCTYPE html><html><body><p>x</p></body></html>", "a01.pdf"), MismatchedTypeError, "claims"),
        (Upload(b"%PDF-1.4 not really", "a.txt", "text/plain"), MismatchedTypeError, "content is a PDF"),
        (Upload(_drawn(), "scan.pdf"), RejectedDocumentError, "no text layer"),
        (Upload(_drawn(encrypt="secret"), "locked.pdf"), RejectedDocumentError, "password"),
        (Upload(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old.doc"), RejectedDocumentError, "legacy"),
    ],
    ids=["empty", "html-as-pdf", "pdf-as-text", "scanned", "encrypted", "legacy-doc"],
)
def test_documents_bad_uploads_are_refused_and_nothing_is_stored(settings, upload, error, says):
    documents = Documents(settings)
    with pytest.raises(error, match=says):
        documents.add(upload, DocumentFields())
    assert documents.store.originals() == []
    assert documents.page() == (0, [])


def test_documents_upload_over_the_limit_is_refused(settings, page):
    documents = Documents(settings.model_copy(update={"max_upload_mb": 0.001}))
    with pytest.raises(UploadTooLargeError, match="RAG_MAX_UPLOAD_MB"):
        documents.add(page, DocumentFields())


@pytest.mark.file_store
def test_documents_job_fails_and_says_so_while_another_writer_holds_the_index(settings, page):
    documents = Documents(settings, lock_wait_s=0.2)
    added = documents.add(page, DocumentFields())
    with IndexWriter(settings.index_dir):
        job = documents.run(added.job)
    assert job.status == "failed" and "another `rag ingest`" in (job.error or "")
    assert not _articles(settings, f"{added.document.document_id}.html")  # the previous index, whole
    assert documents.run(added.job).status == "done"  # once the writer is gone, the same job goes through


def test_documents_job_killed_mid_build_is_failed_on_restart_and_the_index_is_the_previous(settings, article):
    """`rag documents add` killed with SIGKILL while its build is under way: the next start says so."""
    workdir = settings.corpus_dir.parent
    builds = settings.index_root / ".builds"
    current = settings.index_dir.resolve()
    pdf = workdir / "a01.pdf"
    pdf.write_bytes(epaper_pdf([article] * 3, folio="湖州日报 2023年6月12日 第A01版"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    process = subprocess.Popen([RAG, "documents", "add", str(pdf)], cwd=workdir, env=env, text=True)
    try:
        wait_for_new_build(builds, current)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert settings.index_dir.resolve() == current
    documents = Documents(settings)
    documents.start()
    documents.stop()
    [info] = documents.page()[1]
    job = documents.job(info.job_id or "")
    assert job.status == "failed" and "interrupted" in (job.error or "")
    assert not _articles(settings, pdf.name) and CORPUS.exists()
