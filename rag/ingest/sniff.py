"""Choose a loader by looking at the text, never at the file name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from rag.ingest.digest import looks_like_digest, parse_digest
from rag.ingest.generic import parse_generic
from rag.ingest.newspaper import looks_like_newspaper, parse_newspaper
from rag.ingest.parsed import Parsed
from rag.ingest.text import split_lines
from rag.ingest.webscrape import looks_like_webscrape, parse_webscrape

TextShape = Literal["newspaper", "digest", "webscrape", "generic"]

PARSERS: dict[TextShape, Callable[[str], Parsed]] = {
    "newspaper": parse_newspaper,
    "digest": parse_digest,
    "webscrape": parse_webscrape,
    "generic": parse_generic,
}


def detect_shape(text: str) -> TextShape:
    lines = split_lines(text)
    if looks_like_webscrape(lines):
        return "webscrape"
    if looks_like_digest(lines):
        return "digest"
    if looks_like_newspaper(lines):
        return "newspaper"
    return "generic"
