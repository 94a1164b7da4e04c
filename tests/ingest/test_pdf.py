"""PDF pages: an e-paper page of articles side by side, read in order and split into articles; scanned,
encrypted and damaged PDFs refused with a message that says which."""

from __future__ import annotations

import io

import pytest
from reportlab.pdfgen import canvas

from rag.errors import DamagedDocumentError, EncryptedPdfError, ScannedPdfError
from rag.ingest import load_source
from rag.ingest.accounting import account
from rag.ingest.text import without_whitespace
from tests.conftest import MAX_BYTES
from tests.documents import epaper_pdf

WEB = "004_90004a5f8ebd7398.txt"


@pytest.fixture(scope="module")
def two_articles(seeds):
    articles = seeds[WEB].articles
    return next(a for a in articles if a.title.startswith("湖州工业投资")), next(
        a for a in articles if a.title.startswith("吴兴智造")
    )


def _pdf(tmp_path, data: bytes, name: str = "a01.pdf"):
    path = tmp_path / name
    path.write_bytes(data)
    return load_source(path, MAX_BYTES)


def test_pdf_side_by_side_articles_are_read_column_by_column(tmp_path, two_articles):
    left, right = two_articles
    loaded = _pdf(tmp_path, epaper_pdf([left, right]))
    assert loaded.shape == "pdf"
    assert [a.title for a in loaded.articles] == [left.title, right.title]
    for printed, original in zip(loaded.articles, two_articles, strict=True):
        # the page wraps lines anywhere; the words and their order are the original's
        assert without_whitespace(printed.text) == without_whitespace(original.text)


def test_pdf_articles_take_the_date_the_page_prints(tmp_path, two_articles):
    loaded = _pdf(tmp_path, epaper_pdf(list(two_articles), folio="湖州日报 2023年6月12日 第A01版"))
    assert {(a.date, a.date_kind) for a in loaded.articles} == {("2023-06-12", "published")}


def test_pdf_running_head_and_folio_are_removed_layout_and_every_character_is_accounted(tmp_path, two_articles):
    loaded = _pdf(tmp_path, epaper_pdf(list(two_articles)))
    furniture = [loaded.text[r.start : r.end] for r in loaded.removed if r.kind == "page_furniture"]
    assert furniture == ["湖州日报2023年6月12日第A01版", "A01"]
    assert not any("A01" in a.text for a in loaded.articles)
    accounting = account(loaded)
    assert accounting.ok, accounting.report()


def _drawn(**options: str) -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, **options)
    page.rect(50, 50, 300, 300, fill=1)  # a picture of a page, no text
    if options:
        page.drawString(100, 700, "A text layer, behind a password")
    page.save()
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "error", "says"),
    [
        (_drawn(), ScannedPdfError, "no text layer"),
        (_drawn(encrypt="secret"), EncryptedPdfError, "password"),
        (_drawn()[:400], DamagedDocumentError, "damaged PDF"),
    ],
    ids=["scanned", "encrypted", "truncated"],
)
def test_pdf_unreadable_files_are_refused_with_what_to_do(tmp_path, data, error, says):
    with pytest.raises(error, match=says) as raised:
        _pdf(tmp_path, data)
    assert "a01.pdf" in str(raised.value)
