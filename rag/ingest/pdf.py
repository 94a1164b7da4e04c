"""PDF pages (e-paper pages, reports) with pdfplumber (pdfminer.six, MIT): text in reading order, split into articles.

An e-paper page holds several articles side by side, each a headline over one or more columns. Words are put in
reading order by a recursive XY cut: a region is cut first at a vertical gutter that runs its whole height (two
articles, or two columns, side by side), else at its widest horizontal gap (a headline over its body), until a
region is one line. pdfminer's own layout analysis (which orders text boxes by a weighted coordinate)
pairs the headlines of neighbouring articles that are printed level with each other (both headlines, then both
bodies), and pypdf's and pdfplumber's plain text extraction interleave side-by-side columns line by line
when a file writes its text row by row across them (bench/extractors.py measures all three).

Lines printed clearly larger than the body text are headlines: each run of them starts an article, as a
headline starts one on the OCR'd pages (rag.ingest.newspaper). Lines printed clearly smaller at a page's top
or bottom edge (running heads, folios, page numbers) are listed as removed layout.
"""

from __future__ import annotations

import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import DamagedDocumentError, EncryptedPdfError, ScannedPdfError
from rag.ingest.assemble import Draft, Removed
from rag.ingest.parsed import Parsed
from rag.ingest.text import ends_sentence, is_cjk, join_lines

HEADLINE_RATIO = 1.25  # a line at least this much larger than the body text is a headline
FURNITURE_RATIO = 0.9  # a line this much smaller, at a page's edge, is a running head or folio
_EDGE_SHARE = 0.08  # the top and bottom share of a page where running heads and folios sit
_MIN_CHARS_PER_PAGE = 5  # fewer, on every page: no usable text layer
_CID_SHARE = 0.1
_FOLIO_DATE = re.compile(
    r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
)  # share of "(cid:N)" glyphs past which the fonts carry no Unicode map


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float


@dataclass(frozen=True)
class PdfLine:
    text: str
    x0: float
    x1: float
    top: float
    size: float
    page_height: float


@dataclass(frozen=True)
class PdfText:
    text: str
    parsed: Parsed


def looks_like_pdf(data: bytes) -> bool:
    return b"%PDF-" in data[:1024]


def parse_pdf(path: Path, data: bytes) -> PdfText:
    lines = _read_lines(path, data)
    return _articles(lines)


def _read_lines(path: Path, data: bytes) -> list[list[PdfLine]]:
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfplumber.utils.exceptions import PdfminerException

    pages: list[list[PdfLine]] = []
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for page in pdf.pages:
                words = [_word(w) for w in page.extract_words(extra_attrs=["size"], keep_blank_chars=False)]
                pages.append([_line(group, float(page.height)) for group in _reading_order(words)])
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc
        if isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError):
            raise EncryptedPdfError(path) from exc
        raise DamagedDocumentError(path, "PDF", _reason(cause)) from exc
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise EncryptedPdfError(path) from exc
    except Exception as exc:  # pdfminer raises many unrelated types on a broken file
        raise DamagedDocumentError(path, "PDF", _reason(exc)) from exc
    text = "".join(line.text for page in pages for line in page)
    if all(sum(len(line.text) for line in page) < _MIN_CHARS_PER_PAGE for page in pages):
        raise ScannedPdfError(path)
    if text.count("(cid:") * 6 > _CID_SHARE * len(text):
        raise DamagedDocumentError(path, "PDF", "its fonts carry no Unicode map, so its text cannot be read")
    return pages


def _reason(exc: object) -> str:
    return str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__


def _word(raw: dict[str, Any]) -> Word:
    return Word(
        str(raw["text"]),
        float(raw["x0"]),
        float(raw["x1"]),
        float(raw["top"]),
        float(raw["bottom"]),
        float(raw["size"]),
    )


def _reading_order(words: list[Word]) -> list[list[Word]]:
    """Lines (groups of words) in reading order, by recursive XY cut."""
    if not words:
        return []
    size = statistics.median(w.size for w in words)
    lines: list[list[Word]] = []
    stack = [words]
    while stack:
        region = stack.pop()
        parts = _cut(region, "x", gap=size) or _cut(region, "y", gap=0.01)
        if parts is None:
            lines.append(sorted(region, key=lambda w: w.x0))
        else:
            stack.extend(reversed(parts))
    return lines


def _cut(region: list[Word], axis: str, gap: float) -> list[list[Word]] | None:
    """Split `region` at its widest empty band across `axis` ("x": a vertical gutter), if one is `gap` wide."""
    spans = sorted((w.x0, w.x1) if axis == "x" else (w.top, w.bottom) for w in region)
    best: tuple[float, float] | None = None
    reach = spans[0][1]
    for start, end in spans[1:]:
        if start - reach >= gap and (best is None or start - reach > best[1] - best[0]):
            best = (reach, start)
        reach = max(reach, end)
    if best is None:
        return None
    split = (best[0] + best[1]) / 2
    first = [w for w in region if (w.x0 if axis == "x" else w.top) < split]
    rest = [w for w in region if (w.x0 if axis == "x" else w.top) >= split]
    return [first, rest]


def _line(words: list[Word], page_height: float) -> PdfLine:
    text = ""
    for word in words:
        if text and not (is_cjk(text[-1]) or is_cjk(word.text[0])):
            text += " "
        text += word.text
    chars = Counter({w.size: len(w.text) for w in words})
    return PdfLine(
        text=text,
        x0=min(w.x0 for w in words),
        x1=max(w.x1 for w in words),
        top=min(w.top for w in words),
        size=chars.most_common(1)[0][0],
        page_height=page_height,
    )


def _articles(pages: list[list[PdfLine]]) -> PdfText:
    """Lay the lines out as text, one per line, and cut it into articles at each run of headline lines."""
    sizes: Counter[float] = Counter()
    for line in (line for page in pages for line in page):
        sizes[round(line.size, 1)] += len(line.text)
    body_size = sizes.most_common(1)[0][0]
    parsed = Parsed(clean_paragraph=join_lines)
    pieces: list[str] = []
    offset = 0
    draft: Draft | None = None
    previous: PdfLine | None = None

    def emit(piece: str, separator: str) -> tuple[int, int]:
        nonlocal offset
        start = offset
        pieces.append(piece + separator)
        offset += len(piece) + len(separator)
        return start, start + len(piece)

    for page in pages:
        page_date = None
        for line in page:
            if _furniture(line, body_size):
                start, end = emit(line.text, "\n\n")
                parsed.removed.append(Removed("page_furniture", start, end))
                page_date = page_date or _folio_date(line.text)
                continue
            headline = line.size >= HEADLINE_RATIO * body_size
            continues_title = headline and previous is not None and _is_headline(previous, body_size)
            if draft is None or (headline and not continues_title):
                draft = Draft(date=page_date, date_kind="published" if page_date else None)
                parsed.drafts.append(draft)
            ends_paragraph = not headline and ends_sentence(line.text) and _short(line, previous)
            start, end = emit(line.text, "\n\n" if headline or ends_paragraph else "\n")
            draft.add("title" if headline else "body", start, end)
            previous = line
    return PdfText(text="".join(pieces), parsed=_merged_body_spans(parsed))


def _folio_date(text: str) -> str | None:
    """The date an e-paper page prints in its running head ("湖州日报 2023年6月12日 第A01版"): its articles' date."""
    found = _FOLIO_DATE.search(text)
    return f"{int(found[1]):04d}-{int(found[2]):02d}-{int(found[3]):02d}" if found else None


def _is_headline(line: PdfLine, body_size: float) -> bool:
    return line.size >= HEADLINE_RATIO * body_size


def _furniture(line: PdfLine, body_size: float) -> bool:
    at_edge = line.top < _EDGE_SHARE * line.page_height or line.top > (1 - _EDGE_SHARE) * line.page_height
    return at_edge and line.size <= FURNITURE_RATIO * body_size


def _short(line: PdfLine, previous: PdfLine | None) -> bool:
    """A line that stops well short of the one before it ends its paragraph."""
    return previous is None or line.x1 < previous.x1 - line.size


def _merged_body_spans(parsed: Parsed) -> Parsed:
    """One body span per paragraph (its lines joined by rag.ingest.text.join_lines), not one per line."""
    for draft in parsed.drafts:
        merged: list[Any] = []
        for span in draft.spans:
            last = merged[-1] if merged else None
            if last is not None and last.role == span.role == "body" and span.start - last.end == 1:
                merged[-1] = last.model_copy(update={"end": span.end})
            else:
                merged.append(span)
        draft.spans = merged
    return parsed
