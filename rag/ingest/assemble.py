"""Turn a loader's drafts (labelled source spans) into Articles, building every field from its spans."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from rag.ingest.text import join_heading, squeeze_spaces
from rag.models import Article, ArticleKind, DateKind, SourceSpan, SpanRole

RemovedKind = Literal[
    "page_jump", "doubled_headline", "ornament", "markup", "separator", "site_chrome", "page_furniture"
]

REMOVED_KINDS: dict[str, str] = {
    "page_jump": "a page-jump or cross-reference mark such as （下转A02版） or 》》》详见A04版",
    "doubled_headline": "the second copy of a headline the OCR printed twice",
    "ornament": "decorative layout marks such as ▲ ▲",
    "markup": "markdown heading marks (#)",
    "separator": "the '-' lines between blocks of a web page",
    "site_chrome": "web-site navigation and footer links",
    "page_furniture": "a PDF page's running head, folio or page number, printed smaller than the articles",
}


@dataclass(frozen=True)
class Removed:
    """Characters of the source that belong to no article, and why."""

    kind: RemovedKind
    start: int
    end: int


@dataclass
class Draft:
    """An article under construction: which source ranges it owns, and in which role."""

    kind: ArticleKind = "article"
    spans: list[SourceSpan] = field(default_factory=list)
    publication: str | None = None
    date: str | None = None
    date_kind: DateKind | None = None
    url: str | None = None

    def add(self, role: SpanRole, start: int, end: int) -> None:
        if end > start:
            self.spans.append(SourceSpan(role=role, start=start, end=end))

    def has(self, role: SpanRole) -> bool:
        return any(s.role == role for s in self.spans)


def text_without_removed(source: str, start: int, end: int, removed: list[Removed]) -> str:
    pieces: list[str] = []
    pos = start
    for cut in sorted(removed, key=lambda r: r.start):
        if cut.end <= pos or cut.start >= end:
            continue
        pieces.append(source[pos : max(pos, cut.start)])
        pos = max(pos, cut.end)
    pieces.append(source[pos:end])
    return "".join(pieces)


_ROLE_WORDS = re.compile(r"(?:新华社|本报)?(?:见习记者|记者|通讯员|摄影)")


def parse_people(byline: str) -> list[str]:
    """Names from a byline or photo credit: "见习记者 张 翔" -> ["张翔"], "记者 董华 姚海翔" -> both."""
    names: list[str] = []
    for part in _ROLE_WORDS.split(byline.replace("|", " ")):
        part = re.sub(r"摄$", "", part.strip())
        tokens = [t for t in re.split(r"[\s\u3000]+", part) if re.fullmatch(r"[\u4e00-\u9fff·]+", t)]
        if tokens and all(len(t) == 1 for t in tokens):
            tokens = ["".join(tokens)]  # a two-character name spaced out to align with longer ones
        names.extend(tokens)
    return names


def finish(
    draft: Draft,
    *,
    source: str,
    source_file: str,
    article_id: str,
    ordinal: int,
    removed: list[Removed],
    clean_paragraph: Callable[[str], str],
) -> Article:
    def field_text(role: SpanRole, clean: Callable[[str], str], sep: str) -> str:
        parts = [clean(text_without_removed(source, s.start, s.end, removed)) for s in draft.spans if s.role == role]
        return sep.join(p for p in parts if p)

    byline = field_text("byline", squeeze_spaces, " ")
    credit = field_text("credit", squeeze_spaces, " ")
    return Article(
        id=article_id,
        source_file=source_file,
        ordinal=ordinal,
        kind=draft.kind,
        kicker=field_text("kicker", join_heading, " "),
        title=field_text("title", join_heading, " "),
        subtitle=field_text("subtitle", join_heading, " "),
        byline=" ".join(p for p in (byline, credit) if p),
        reporters=tuple(dict.fromkeys(parse_people(byline) + parse_people(credit))),
        publication=draft.publication,
        date=draft.date,
        date_kind=(draft.date_kind or "published") if draft.date else "unknown",
        url=draft.url,
        text=field_text("body", clean_paragraph, "\n\n"),
        spans=tuple(sorted(draft.spans, key=lambda s: s.start)),
    )
