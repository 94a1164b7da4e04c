from __future__ import annotations

import pytest

from rag.answerability import publication_place
from rag.facts.models import Fact
from rag.models import Article
from rag.store import IndexReader
from tests.conftest import BuiltIndex


@pytest.fixture(scope="module")
def table(built_index: BuiltIndex) -> tuple[list[Fact], dict[str, Article], list[str]]:
    """The real index's figures table, its articles by id, and its papers' cities."""
    reader = IndexReader(built_index.root / "indexes" / "default")
    try:
        articles = {a.id: a for a in reader.articles()}
        places = sorted({p for p in map(publication_place, reader.publications()) if p})
        return reader.facts(), articles, places
    finally:
        reader.close()
