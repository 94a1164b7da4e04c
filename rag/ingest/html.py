"""Web pages (news articles): the main text without navigation, ads and comments, with title, site, date and URL.

The extractor is trafilatura, whose dates come from htmldate: the page's original publication date, from its
metadata (`article:published_time`, JSON-LD `datePublished`) or else its byline ("2023-05-12 08:30 来源：…"),
so it is recorded as a publication date, never as the crawl date. The extracted text is the title line and the
article's paragraphs; navigation, ads, related links and comments never reach it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rag.errors import DocumentFormatError
from rag.ingest.assemble import Draft
from rag.ingest.decode import decode_bytes
from rag.ingest.parsed import Parsed
from rag.ingest.text import squeeze_spaces

_HEAD_BYTES = 4096
_HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# Pages that declare GB2312 or GBK are written by tools that use GBK's (and often GB18030's) extra characters.
_CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030"}


@dataclass(frozen=True)
class HtmlText:
    text: str
    encoding: str
    parsed: Parsed


def looks_like_html(data: bytes) -> bool:
    return bool(_HTML_START.match(data[:_HEAD_BYTES]))


def decode_html(path: Path, data: bytes) -> tuple[str, str]:
    """(text, encoding): by the charset the page declares, else sniffed as any other text file is."""
    declared = _META_CHARSET.search(data[:_HEAD_BYTES])
    if declared is not None:
        name = declared.group(1).decode("ascii").lower()
        codec = _CHARSET_ALIASES.get(name, name)
        try:
            return data.decode(codec), name
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong declaration is common enough: fall back to sniffing
    decoded = decode_bytes(path, data)
    return decoded.text, decoded.encoding


def parse_html(path: Path, data: bytes) -> HtmlText:
    import trafilatura

    markup, encoding = decode_html(path, data)
    document = trafilatura.bare_extraction(
        markup,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_precision=True,  # a list or index page gives nothing rather than its links as "text"
        date_extraction_params={"original_date": True, "extensive_search": True},
    )
    body = (getattr(document, "text", None) or "").strip() if document is not None else ""
    if not body:
        raise DocumentFormatError(
            path, "is a web page with no article text that could be found (an index or list page?); send an article"
        )
    title = squeeze_spaces(getattr(document, "title", None) or "")
    paragraphs = [squeeze_spaces(p) for p in body.splitlines() if p.strip()]
    text, parsed = _layout(title, paragraphs)
    draft = parsed.drafts[0]
    draft.publication = getattr(document, "sitename", None) or None
    draft.date = getattr(document, "date", None) or None
    draft.date_kind = "published" if draft.date else None
    draft.url = getattr(document, "url", None) or None
    return HtmlText(text=text, encoding=encoding, parsed=parsed)


def _layout(title: str, paragraphs: list[str]) -> tuple[str, Parsed]:
    """The extracted text (title, then one paragraph a block) and one draft whose spans cover all of it."""
    parsed = Parsed(clean_paragraph=squeeze_spaces)
    draft = Draft()
    pieces: list[str] = []
    offset = 0
    for role, piece in [("title", title)] * bool(title) + [("body", p) for p in paragraphs]:
        draft.add(role, offset, offset + len(piece))  # type: ignore[arg-type]
        pieces.append(piece)
        offset += len(piece) + 2
    parsed.drafts.append(draft)
    return "\n\n".join(pieces), parsed
