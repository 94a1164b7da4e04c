"""The figures table for one answer: the rows that the retrieved passages hold, matched against the question.

Only a row whose figure lies inside a retrieved passage can be cited, so the match runs over those rows, and
each row keeps the passage it is cited by. Passages about another place (rag.answerability.is_foreign) give no
rows: their figures are never an answer.

    cited = cited_match(index, frame, passages, foreign)
    cited.match.answered, cited.passage_of[fact.id]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.facts.match import match
from rag.facts.models import Fact, FactMatch, Frame
from rag.models import Article, Passage
from rag.store import IndexReader


@dataclass(frozen=True)
class CitedMatch:
    match: FactMatch
    passage_of: dict[str, int] = field(default_factory=dict)  # fact id -> index of the passage that holds it

    def cite(self, fact: Fact) -> str:
        return f"[{self.passage_of[fact.id] + 1}]"


def asks_for_rows(frame: Frame) -> bool:
    """Whether the table can decide: the question asks a figure and names what it counts."""
    return frame.wants_figure and any(part.indicator for part in frame.parts or (frame,))


def cited_match(index: IndexReader, frame: Frame, passages: Sequence[Passage], foreign: set[int]) -> CitedMatch:
    own = [i for i in range(len(passages)) if i not in foreign]
    ids = list(dict.fromkeys(passages[i].article_id for i in own))
    rows: list[Fact] = []
    passage_of: dict[str, int] = {}
    for fact in index.facts(article_ids=ids):
        holder = next((i for i in own if _holds(passages[i], fact)), None)
        if holder is not None:
            rows.append(fact)
            passage_of[fact.id] = holder
    articles: dict[str, Article] = {a: index.article(a) for a in ids}
    return CitedMatch(match(frame, rows, articles), passage_of)


def _holds(passage: Passage, fact: Fact) -> bool:
    return passage.article_id == fact.article_id and passage.start <= fact.start and fact.end <= passage.end
