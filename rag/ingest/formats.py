"""Which loader reads a file, chosen by its bytes (never its name): PDF, Word, web page, or plain text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rag.errors import BinaryFileError
from rag.ingest.decode import decode_bytes
from rag.ingest.docx import looks_like_zip, parse_docx
from rag.ingest.html import looks_like_html, parse_html
from rag.ingest.parsed import Parsed
from rag.ingest.pdf import looks_like_pdf, parse_pdf
from rag.ingest.sniff import PARSERS, TextShape, detect_shape

Format = Literal["pdf", "docx", "html", "text"]
Shape = TextShape | Literal["pdf", "docx", "html"]
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc, .xls, .ppt


@dataclass(frozen=True)
class SourceText:
    """What a loader extracted: the text the articles' spans index into, and the articles drafted from it."""

    text: str
    shape: Shape
    encoding: str  # the text's codec, or the binary format it was extracted from
    parsed: Parsed


def sniff_format(path: Path, data: bytes) -> Format:
    if looks_like_pdf(data):
        return "pdf"
    if looks_like_zip(data):
        return "docx"
    if data.startswith(_OLE_MAGIC):
        raise BinaryFileError(path, "a legacy Office file (.doc/.xls/.ppt); save it as .docx or PDF and send that")
    if looks_like_html(data):
        return "html"
    return "text"


def read_source_text(path: Path, data: bytes) -> SourceText:
    kind = sniff_format(path, data)
    if kind == "pdf":
        pdf = parse_pdf(path, data)
        return SourceText(pdf.text, "pdf", "pdf", pdf.parsed)
    if kind == "docx":
        docx = parse_docx(path, data)
        return SourceText(docx.text, "docx", "docx", docx.parsed)
    if kind == "html":
        page = parse_html(path, data)
        return SourceText(page.text, "html", page.encoding, page.parsed)
    decoded = decode_bytes(path, data)
    shape = detect_shape(decoded.text)
    return SourceText(decoded.text, shape, decoded.encoding, PARSERS[shape](decoded.text))
