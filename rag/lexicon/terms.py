"""A weighted search term: a word as the BM25 index holds it, where it came from, and how much it counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

TermOrigin = Literal["original", "translated", "expanded", "figure"]
DocumentFrequencies = Callable[[Iterable[str]], dict[str, int]]


@dataclass(frozen=True)
class Term:
    """`Term("基站", 1.0, "translated", "base station")`: 基站 stands for the question's "base station" at full
    weight. `weight` scales the term's BM25 contribution and its sentence-coverage credit (0..1)."""

    text: str  # normalised, as rag.bm25.segment emits it
    weight: float
    origin: TermOrigin
    source: str  # the question's word or phrase it stands for


def merged(terms: Sequence[Term]) -> list[Term]:
    """One term per text, keeping its highest weight (and that one's origin), in first-seen order."""
    best: dict[str, Term] = {}
    for term in terms:
        if term.text not in best or term.weight > best[term.text].weight:
            best[term.text] = term
    order = list(dict.fromkeys(t.text for t in terms if t.text in best))
    return [best[text] for text in order]
