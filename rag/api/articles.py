"""Article lookup, for citation drill-down."""

from __future__ import annotations

from fastapi import APIRouter

from rag.api.state import State
from rag.models import Article

router = APIRouter(prefix="/api", tags=["articles"])


@router.get("/articles")
def list_articles(state: State, source: str | None = None) -> list[Article]:
    """Every article (optionally of one source file), in source order."""
    return state.require_index().articles(source_file=source)


@router.get("/articles/{article_id}")
def get_article(article_id: str, state: State) -> Article:
    """One article with its text and the offsets of each part in its source file."""
    return state.require_index().article(article_id)
