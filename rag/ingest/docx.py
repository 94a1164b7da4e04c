"""Word documents (.docx) with python-docx: paragraphs and headings in order, tables as text rows.

The document's top-level headings (its Title style, else its highest heading level) start articles, as
markdown headings do in rag.ingest.generic; lower headings stay in the body as subheads. A table becomes one
paragraph, a line per row, its cells joined by " | " (a cell merged across columns counted once).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rag.errors import DamagedDocumentError, ZipBombError
from rag.ingest.assemble import Draft
from rag.ingest.parsed import Parsed
from rag.models import SpanRole

MAX_UNPACKED_BYTES = 256 * 2**20
MAX_RATIO = 200  # unpacked over packed: real documents stay far below (text XML packs ~10:1)


@dataclass(frozen=True)
class Block:
    text: str
    level: int | None  # heading level (0: the Title style), None: body text


@dataclass(frozen=True)
class DocxText:
    text: str
    parsed: Parsed


def looks_like_zip(data: bytes) -> bool:
    return data.startswith(b"PK\x03\x04")


def check_archive(path: Path, data: bytes) -> None:
    """Refuse a ZIP that is not a Word document, or whose members unpack to far more than a document could."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise DamagedDocumentError(path, "DOCX", f"not a readable ZIP archive: {exc}") from exc
    unpacked = sum(m.file_size for m in members)
    if unpacked > min(MAX_UNPACKED_BYTES, MAX_RATIO * max(len(data), 1)):
        raise ZipBombError(path, unpacked, min(MAX_UNPACKED_BYTES, MAX_RATIO * len(data)))
    if "word/document.xml" not in {m.filename for m in members}:
        raise DamagedDocumentError(path, "DOCX", "a ZIP archive without word/document.xml, so not a Word document")


def parse_docx(path: Path, data: bytes) -> DocxText:
    check_archive(path, data)
    blocks = _blocks(path, data)
    return _articles(blocks)


def _blocks(path: Path, data: bytes) -> list[Block]:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors... on a broken package
        raise DamagedDocumentError(path, "DOCX", str(exc)[:120] or type(exc).__name__) from exc
    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = [" | ".join(_unique_cells(row.cells)) for row in item.rows]
            text = "\n".join(r for r in rows if r.strip(" |"))
            level = None
        else:
            text = item.text.strip()
            level = _heading_level(item.style.name if item.style is not None else "")
        if text:
            blocks.append(Block(text, level))
    return blocks


def _unique_cells(cells: object) -> list[str]:
    seen: list[object] = []
    texts: list[str] = []
    for cell in cells:  # type: ignore[attr-defined]
        if any(cell._tc is other for other in seen):  # a merged cell repeats in every grid column it spans
            continue
        seen.append(cell._tc)
        texts.append(cell.text.strip())
    return texts


def _heading_level(style: str) -> int | None:
    if style == "Title":
        return 0
    if style.startswith("Heading ") and style.removeprefix("Heading ").isdigit():
        return int(style.removeprefix("Heading "))
    return None


def _articles(blocks: list[Block]) -> DocxText:
    levels = [b.level for b in blocks if b.level is not None]
    split_level = min(levels) if levels else None
    parsed = Parsed(clean_paragraph=str.strip)
    pieces: list[str] = []
    offset = 0
    draft = Draft()
    for block in blocks:
        if block.level is not None and block.level == split_level and draft.spans:
            parsed.drafts.append(draft)
            draft = Draft()
        opens = block.level is not None and not draft.has("title") and not draft.has("body")
        role: SpanRole = "title" if opens else "body"
        draft.add(role, offset, offset + len(block.text))
        pieces.append(block.text)
        offset += len(block.text) + 2
    if draft.spans:
        parsed.drafts.append(draft)
    return DocxText(text="\n\n".join(pieces), parsed=parsed)
