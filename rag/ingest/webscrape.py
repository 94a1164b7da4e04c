"""Web scrapes: blocks separated by "-" lines, each a title, a one-line body and a date line.

The date is when the page was crawled, not when the article was published. Short lines left after
the last dated block are the site's navigation and footer.
"""

from __future__ import annotations

import itertools
import re

from rag.ingest.assemble import Draft, Removed
from rag.ingest.parsed import Parsed
from rag.ingest.text import Line, join_lines, split_lines, visual_width

SEPARATOR = re.compile(r"^-+$")
DATE_LINE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
CHROME_ITEM = re.compile(r"^-\s+\S")
# A body printed as one long line still has sections ("一、", "(二)"): each starts a paragraph.
SECTION_START = re.compile(
    r"(?:(?<=[。！？；;])|\s+)(?=(?:[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十]{1,3}[）)]))"
)


def looks_like_webscrape(lines: list[Line]) -> bool:
    separators = sum(1 for ln in lines if SEPARATOR.match(ln.stripped))
    dates = sum(1 for ln in lines if DATE_LINE.match(ln.stripped))
    return separators >= 2 and dates >= 1


def parse_webscrape(text: str) -> Parsed:
    parsed = Parsed(clean_paragraph=join_lines)
    block: list[Line] = []
    for line in [*split_lines(text), Line(len(text), len(text), "-")]:
        if line.blank:
            continue
        if SEPARATOR.match(line.stripped):
            if line.start < len(text):
                parsed.removed.append(Removed("separator", line.content_start, line.content_end))
            _close_block(parsed, block)
            block = []
        else:
            block.append(line)
    return parsed


def _close_block(parsed: Parsed, block: list[Line]) -> None:
    if not block:
        return
    date_index = next((i for i, ln in enumerate(block) if DATE_LINE.match(ln.stripped)), None)
    if date_index is None:
        if all(visual_width(ln.stripped) <= 40 for ln in block):
            _remove_chrome(parsed, block)
            return
        date_index = len(block)
    draft = Draft()
    title, *body = block[:date_index]
    draft.add("title", title.content_start, title.content_end)
    for line in body:
        for start, end in _paragraphs(line):
            draft.add("body", start, end)
    if date_index < len(block):
        date_line = block[date_index]
        year, month, day = DATE_LINE.match(date_line.stripped).groups()  # type: ignore[union-attr]
        draft.add("date", date_line.content_start, date_line.content_end)
        draft.date, draft.date_kind = f"{int(year):04d}-{int(month):02d}-{int(day):02d}", "crawled"
        _remove_chrome(parsed, block[date_index + 1 :])
    parsed.drafts.append(draft)


def _remove_chrome(parsed: Parsed, lines: list[Line]) -> None:
    for line in lines:
        parsed.removed.append(Removed("site_chrome", line.content_start, line.content_end))


def _paragraphs(line: Line) -> list[tuple[int, int]]:
    cuts = [m.start() for m in SECTION_START.finditer(line.text)]
    bounds = [0, *cuts, len(line.text)]
    spans = []
    for a, b in itertools.pairwise(bounds):
        piece = line.text[a:b]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece.rstrip())
        if trail > lead:
            spans.append((line.start + a + lead, line.start + a + trail))
    return spans
