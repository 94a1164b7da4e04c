"""Prove that loading lost and invented nothing.

Every non-whitespace character of a source must be claimed exactly once: by one article's spans or
by one listed class of removed layout. And every article field must be exactly the characters of
its spans (less whitespace and removed layout), in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rag.ingest.assemble import text_without_removed
from rag.ingest.text import WHITESPACE, without_whitespace

if TYPE_CHECKING:
    from rag.ingest import LoadedSource

_FIELDS_BY_ROLE = {
    "kicker": ("kicker",),
    "title": ("title",),
    "subtitle": ("subtitle",),
    "byline": ("byline", "credit"),
    "text": ("body",),
}


@dataclass
class Accounting:
    source_file: str
    unclaimed: list[tuple[int, str]] = field(default_factory=list)  # (offset, context)
    claimed_twice: list[tuple[int, str]] = field(default_factory=list)
    field_mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.unclaimed or self.claimed_twice or self.field_mismatches)

    def report(self) -> str:
        lines = [f"{self.source_file}:"]
        lines += [f"  unclaimed at {o}: {c!r}" for o, c in self.unclaimed[:20]]
        lines += [f"  claimed twice at {o}: {c!r}" for o, c in self.claimed_twice[:20]]
        lines += [f"  {m}" for m in self.field_mismatches[:20]]
        return "\n".join(lines)


def account(loaded: LoadedSource) -> Accounting:
    text = loaded.text
    owners = [0] * len(text)
    ranges = [(s.start, s.end) for a in loaded.articles for s in a.spans]
    for start, end in ranges:
        for k in range(start, end):
            owners[k] += 1
    # Removed layout lies inside article spans (a doubled headline) or outside them (a page mark).
    inside = [0] * len(text)
    for cut in loaded.removed:
        for k in range(cut.start, cut.end):
            inside[k] += 1
    result = Accounting(loaded.source_file)
    for k, ch in enumerate(text):
        if ch in WHITESPACE:
            continue
        if inside[k] > 1 or (owners[k] > 1):
            result.claimed_twice.append((k, _context(text, k)))
        elif owners[k] == 0 and inside[k] == 0:
            result.unclaimed.append((k, _context(text, k)))
    _collapse(result.unclaimed)
    _collapse(result.claimed_twice)
    removed = list(loaded.removed)
    for article in loaded.articles:
        for attribute, roles in _FIELDS_BY_ROLE.items():
            expected = "".join(
                text_without_removed(text, s.start, s.end, removed) for s in article.spans if s.role in roles
            )
            if without_whitespace(expected) != without_whitespace(getattr(article, attribute)):
                result.field_mismatches.append(f"{article.id}.{attribute} differs from its source spans")
    return result


def _context(text: str, k: int) -> str:
    return text[max(0, k - 8) : k + 8]


def _collapse(hits: list[tuple[int, str]]) -> None:
    """Keep the first offset of each run of neighbouring hits, so a report shows places, not characters."""
    kept: list[tuple[int, str]] = []
    for offset, context in hits:
        if not kept or offset > kept[-1][0] + 16:
            kept.append((offset, context))
    hits[:] = kept
