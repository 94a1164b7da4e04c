"""Word documents: headings, paragraphs and tables, from a .docx written with python-docx."""

from __future__ import annotations

import io
import zipfile

import pytest

from rag.errors import DamagedDocumentError, ZipBombError
from rag.ingest import load_source
from rag.ingest.accounting import account
from tests.conftest import MAX_BYTES
from tests.documents import paragraphs, word_document


@pytest.fixture(scope="module")
def article(seeds):
    name = next(n for n in seeds if n.startswith("003_"))
    return next(a for a in seeds[name].articles if a.publication == "嘉兴日报")


def _load(tmp_path, data: bytes):
    path = tmp_path / "report.docx"
    path.write_bytes(data)
    return load_source(path, MAX_BYTES)


def test_docx_heading_is_the_title_and_paragraphs_the_text(tmp_path, article):
    loaded = _load(tmp_path, word_document(article))
    assert loaded.shape == "docx"
    [read] = loaded.articles
    assert read.title == article.title.replace("\n", " ")
    assert read.text.split("\n\n") == paragraphs(article)
    assert (read.date, read.date_kind) == (None, "unknown")


def test_docx_table_rows_become_text_rows(tmp_path, article):
    table = [["指标", "数值"], ["港口集装箱吞吐量", "增长12.3%"]]
    [read] = _load(tmp_path, word_document(article, table=table)).articles
    assert read.text.endswith("指标 | 数值\n港口集装箱吞吐量 | 增长12.3%")


def test_docx_every_character_is_accounted(tmp_path, article):
    loaded = _load(tmp_path, word_document(article, table=[["a", "b"]]))
    accounting = account(loaded)
    assert accounting.ok, accounting.report()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_docx_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    bomb = _zip({"word/document.xml": b"<w:document/>", "word/media/fill.bin": b"\0" * (20 * 2**20)})
    with pytest.raises(ZipBombError, match="zip bomb"):
        _load(tmp_path, bomb)


def test_docx_zip_that_is_not_a_word_document_is_refused(tmp_path):
    with pytest.raises(DamagedDocumentError, match="not a Word document"):
        _load(tmp_path, _zip({"notes.txt": "你好".encode()}))
