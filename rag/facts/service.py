"""The figures table over an open index: a question matched against every row, with the index's places and articles.

with open_store(settings) as index:
    result = match_question(index, "去年湖州规上工业增加值是多少？", settings.home_place)
"""

from __future__ import annotations

from rag.answerability import publication_place
from rag.facts.frames import read_question
from rag.facts.match import match
from rag.facts.models import FactMatch
from rag.store import Store


def match_question(index: Store, question: str, home_place: str) -> FactMatch:
    """Read `question` (knowing the cities of the index's papers) and match it against the whole table."""
    places = sorted({place for place in map(publication_place, index.publications()) if place})
    articles = {article.id: article for article in index.articles()}
    return match(read_question(question, home_place, known_places=places), index.facts(), articles)
