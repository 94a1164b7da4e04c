"""Typed values passed between the pipeline's steps."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SpanRole = Literal["kicker", "title", "subtitle", "byline", "body", "credit", "attribution", "date"]
ArticleKind = Literal["article", "photo", "teaser", "fragment"]
DateKind = Literal["published", "crawled", "unknown"]


class SourceSpan(BaseModel):
    """A range of characters [start, end) of the decoded source file that an article was built from."""

    model_config = ConfigDict(frozen=True)

    role: SpanRole
    start: int
    end: int


class Article(BaseModel):
    """One article recognised in a source file.

    `title`, `subtitle`, `kicker`, `byline` and `text` are built only from the characters of `spans`
    (less whitespace and listed layout), so every field can be traced back to the source.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    source_file: str
    ordinal: int
    kind: ArticleKind = "article"
    title: str = ""
    subtitle: str = ""
    kicker: str = ""
    byline: str = ""
    reporters: tuple[str, ...] = ()
    publication: str | None = None
    date: str | None = None
    date_kind: DateKind | None = None
    url: str | None = None
    text: str = ""
    spans: tuple[SourceSpan, ...] = ()

    @property
    def start(self) -> int:
        return min((s.start for s in self.spans), default=0)

    @property
    def end(self) -> int:
        return max((s.end for s in self.spans), default=0)

    @property
    def display_title(self) -> str:
        """The printed headline, or the opening words when the page printed none."""
        if self.title:
            return self.title
        lead = self.text.strip().split("\n", 1)[0].removeprefix("本报讯").strip()
        for stop in "。！？":
            if stop in lead[:40]:
                lead = lead[: lead.index(stop) + 1]
                break
        return lead if len(lead) <= 40 else lead[:40] + "…"


class Chunk(BaseModel):
    """A passage of one article, sized for embedding and for citing.

    `text` is what users see; `embed_text` adds the article's title and publication so a chunk that
    says "今年" still knows which article it is in. `start`/`end` are offsets into `Article.text`.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    article_id: str
    position: int
    text: str
    tokens: int
    start: int
    end: int
    context: str = ""

    @property
    def embed_text(self) -> str:
        return f"{self.context}\n{self.text}" if self.context else self.text


class Passage(BaseModel):
    """A retrieved chunk with what a citation needs to show about its article."""

    model_config = ConfigDict(frozen=True)

    rank: int
    score: float
    chunk_id: str
    article_id: str
    title: str
    publication: str | None
    source_file: str
    date: str | None
    text: str
    start: int = 0
    end: int = 0


class DocumentFields(BaseModel):
    """What a document's sender says about it (`POST /api/documents`): each given field overrides the loader's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str | None = Field(None, max_length=500)
    date: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="Publication date, YYYY-MM-DD.")
    publication: str | None = Field(None, max_length=200)
    url: str | None = Field(None, max_length=2000)

    def apply(self, articles: tuple[Article, ...]) -> tuple[Article, ...]:
        update: dict[str, object] = {}
        if self.date:
            update.update(date=self.date, date_kind="published")
        if self.publication:
            update["publication"] = self.publication
        if self.url:
            update["url"] = self.url
        changed = tuple(a.model_copy(update=update) for a in articles)
        if self.title and len(changed) == 1:  # a title names the one article; a page of several keeps theirs
            changed = (changed[0].model_copy(update={"title": self.title}),)
        return changed
