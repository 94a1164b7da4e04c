"""`GET /api/facts`: the figures table, filtered.

curl -s 'localhost:8000/api/facts?indicator=规上工业增加值&place=湖州&period=Y-1'
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from rag.api.schemas import FactsResponse
from rag.api.state import State

router = APIRouter(prefix="/api", tags=["facts"])
MAX_FILTER_CHARS = 100


@router.get("/facts")
def list_facts(
    state: State,
    indicator: Annotated[
        str | None, Query(max_length=MAX_FILTER_CHARS, description="A part of the indicator: 5G基站, 增加值.")
    ] = None,
    place: Annotated[
        str | None, Query(max_length=MAX_FILTER_CHARS, description="The owner, or a short form of it: 吴兴, 金华.")
    ] = None,
    period: Annotated[
        str | None, Query(max_length=MAX_FILTER_CHARS, description="A prefix of the period label: 2013, Y0-H1.")
    ] = None,
) -> FactsResponse:
    """Every figure of the corpus as a row: value and unit, what it measures, whose, when, and of what kind."""
    rows = state.require_index().facts(indicator=indicator or None, place=place or None, period=period or None)
    return FactsResponse(count=len(rows), facts=rows)
