"""Digest pages (markdown): a Huzhou article, then pieces from other cities' papers.

Each piece ends with "摘自《X日报》", which names its publication. "## " is a title; a "### " line
straight before it is the kicker; a "### " line inside a body is a section heading and stays in
the text. Headline lines printed after the last piece belong to the piece that has no title.
"""

from __future__ import annotations

import re

from rag.ingest.assemble import Draft, Removed
from rag.ingest.parsed import Parsed
from rag.ingest.text import Line, ends_sentence, join_lines, split_lines, visual_width

HEADING = re.compile(r"^(#{1,6})[ \t]+")
ATTRIBUTION = re.compile(r"^(?:摘自|来源[:：]?)\s*《(?P<name>[^》]{1,20})》\s*$")
_SHORT_LEAD = 160  # characters: text before the first title that reads as a lead-in, not a body


def looks_like_digest(lines: list[Line]) -> bool:
    attributions = sum(1 for ln in lines if ATTRIBUTION.match(ln.stripped))
    headings = sum(1 for ln in lines if HEADING.match(ln.stripped))
    return attributions >= 2 or (attributions >= 1 and headings >= 1)


def parse_digest(text: str) -> Parsed:
    lines = [ln for ln in split_lines(text) if not ln.blank]
    parsed = Parsed(clean_paragraph=join_lines)
    current = Draft()

    def content_after_marks(line: Line) -> int:
        mark = HEADING.match(line.stripped)
        assert mark is not None
        parsed.removed.append(Removed("markup", line.content_start, line.content_start + mark.end()))
        return line.content_start + mark.end()

    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else None
        heading = HEADING.match(line.stripped)
        attribution = ATTRIBUTION.match(line.stripped)
        if attribution:
            current.add("attribution", line.content_start, line.content_end)
            current.publication = attribution.group("name")
            parsed.drafts.append(current)
            current = Draft()
        elif heading and len(heading.group(1)) <= 2:
            if current.has("title") and current.has("body"):
                parsed.drafts.append(current)
                current = Draft()
            _lead_becomes_kicker(current, text)
            current.add("title", content_after_marks(line), line.content_end)
        elif heading:
            start = content_after_marks(line)
            next_is_title = bool(following and (m := HEADING.match(following.stripped)) and len(m.group(1)) <= 2)
            if next_is_title:
                current.add("kicker", start, line.content_end)
            elif not current.has("title") and not current.has("body"):
                current.add("title", start, line.content_end)
            else:
                current.add("body", start, line.content_end)
        elif _is_subtitle(current, line, following):
            current.add("subtitle", line.content_start, line.content_end)
        else:
            current.add("body", line.content_start, line.content_end)
    if current.spans:
        _place_trailing(parsed, current, text)
    for draft in parsed.drafts:
        if draft.kind == "article" and "图为" in "".join(text[s.start : s.end] for s in draft.spans):
            draft.kind = "photo"
    return parsed


def _lead_becomes_kicker(draft: Draft, text: str) -> None:
    """Short text before a piece's first title is its lead-in line (引题), not body."""
    if draft.has("title") or not draft.has("body"):
        return
    if sum(s.end - s.start for s in draft.spans if s.role == "body") > _SHORT_LEAD:
        return
    draft.spans = [s.model_copy(update={"role": "kicker"}) if s.role == "body" else s for s in draft.spans]


def _is_subtitle(draft: Draft, line: Line, following: Line | None) -> bool:
    return (
        draft.has("title")
        and not draft.has("body")
        and not ends_sentence(line.stripped)
        and visual_width(line.stripped) <= 80
        and following is not None
        and not HEADING.match(following.stripped)
    )


def _place_trailing(parsed: Parsed, tail: Draft, text: str) -> None:
    """Lines after the last piece: a headline printed below a piece that has none, or a piece of its own."""
    untitled = [d for d in parsed.drafts if not d.has("title")]
    short = all(visual_width(text[s.start : s.end]) <= 80 and s.role == "body" for s in tail.spans)
    if untitled and short and len(tail.spans) <= 3:
        owner = untitled[-1]
        *kickers, title = tail.spans
        for span in kickers:
            owner.add("kicker", span.start, span.end)
        owner.add("title", title.start, title.end)
    else:
        parsed.drafts.append(tail)
