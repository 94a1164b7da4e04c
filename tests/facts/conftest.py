from __future__ import annotations

import pytest

from rag.answerability import publication_place
from rag.facts.models import Fact
from rag.store import IndexReader
from tests.conftest import BuiltIndex


@pytest.fixture(scope="module")
def table(built_index: BuiltIndex) -> tuple[list[Fact], dict[str, str], list[str]]:
    """The real index's figures table, the titles of its articles, and its papers' cities."""
    reader = IndexReader(built_index.root / "indexes" / "default")
    try:
        titles = {a.id: a.title for a in reader.articles()}
        places = sorted({p for p in map(publication_place, reader.publications()) if p})
        return reader.facts(), titles, places
    finally:
        reader.close()
