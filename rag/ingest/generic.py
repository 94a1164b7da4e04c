"""Any other text or markdown file: blank-line paragraphs; a short first line or a heading is the title.

Markdown files with several top-level headings become one article per heading.
"""

from __future__ import annotations

import re

from rag.ingest.assemble import Draft, Removed
from rag.ingest.parsed import Parsed
from rag.ingest.text import Line, ends_sentence, join_lines, split_lines, visual_width
from rag.models import SpanRole

HEADING = re.compile(r"^(#{1,6})[ \t]+")


def parse_generic(text: str) -> Parsed:
    parsed = Parsed(clean_paragraph=join_lines)
    paragraphs = _paragraphs(split_lines(text))
    levels = [len(m.group(1)) for p in paragraphs if (m := HEADING.match(p[0].stripped))]
    split_level = min(levels) if levels else None
    current = Draft()
    for index, para in enumerate(paragraphs):
        first = para[0]
        heading = HEADING.match(first.stripped)
        if heading and len(para) == 1:
            mark_end = first.content_start + heading.end()
            parsed.removed.append(Removed("markup", first.content_start, mark_end))
            if len(heading.group(1)) == split_level and current.spans:
                parsed.drafts.append(current)
                current = Draft()
            role: SpanRole = "title" if not current.has("title") and not current.has("body") else "body"
            current.add(role, mark_end, first.content_end)
        elif index == 0 and len(para) == 1 and _title_like(first) and len(paragraphs) > 1:
            current.add("title", first.content_start, first.content_end)
        else:
            current.add("body", first.content_start, para[-1].content_end)
    if current.spans:
        parsed.drafts.append(current)
    return parsed


def _title_like(line: Line) -> bool:
    return visual_width(line.stripped) <= 80 and not ends_sentence(line.stripped)


def _paragraphs(lines: list[Line]) -> list[list[Line]]:
    paragraphs: list[list[Line]] = []
    current: list[Line] = []
    for line in lines:
        if line.blank:
            if current:
                paragraphs.append(current)
            current = []
        else:
            current.append(line)
    if current:
        paragraphs.append(current)
    return paragraphs
