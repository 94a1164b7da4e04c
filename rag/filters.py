"""Which articles a search may draw from: a date range, a publication, a source file.

A filter is applied inside retrieval, to the dense and the BM25 candidates alike (an allowed set of chunk ids),
not to the top k afterwards, so a narrow filter still fills k passages when the index has them.

    filters = SearchFilters(date_from=date(2023, 1, 1), publication="湖州日报")
    passages = hybrid_search(index, embedder, question, k=5, options=options, filters=filters)
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


def _written_date(value: object) -> object:
    """Only a date or its YYYY-MM-DD text: pydantic would otherwise read a number as seconds since 1970."""
    if value is None or isinstance(value, date | str):
        return value
    raise ValueError("a date is written YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_written_date)]


class SearchFilters(BaseModel):
    """Articles dated in [date_from, date_to] (an undated article is outside any date range), of one
    publication, from one source file. Every field left out allows everything."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date_from: IsoDate | None = Field(None, description="Earliest article date, YYYY-MM-DD (inclusive).")
    date_to: IsoDate | None = Field(None, description="Latest article date, YYYY-MM-DD (inclusive).")
    publication: str | None = Field(None, min_length=1, max_length=200, description="Publication, e.g. 湖州日报.")
    source: str | None = Field(None, min_length=1, max_length=300, description="Source file or document id.")

    @model_validator(mode="after")
    def _ordered(self) -> SearchFilters:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from {self.date_from} is after date_to {self.date_to}; swap them")
        return self

    @property
    def is_empty(self) -> bool:
        return not (self.date_from or self.date_to or self.publication or self.source)


def active(filters: SearchFilters | None) -> SearchFilters | None:
    """`filters` when it restricts anything, else None (no allowed-id set to build)."""
    return filters if filters is not None and not filters.is_empty else None
