"""Article -> Chunks: split the text into sentences, then pack whole sentences up to a token budget.

    chunks = chunk_article(article, ChunkingSettings(max_tokens=120, overlap_sentences=1))

Sentences end at 。！？； (and at ASCII .!?; before a space, the end or Chinese text), after any
closing quotes or brackets, at line breaks and before an inline list's item number ("… 2. 德清…").
A sentence never ends inside a “…” pair. Only a
sentence that alone is over the budget is split further, trying in turn: commas outside quotes, the
edges of its quotes, then the same marks inside a quote that alone is over the budget. A piece with
none of those marks stays whole, over the budget. No cut ever falls inside a number ("1,324.9").
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

from rag.errors import ConfigError
from rag.models import Article, Chunk
from rag.tokens import get_encoder

Span = tuple[int, int]
Unit = tuple[int, int, int]  # start, end, tokens: a sentence, or a piece of an over-long one
Group = tuple[int, int, int]  # first unit, last unit, tokens of the text from one to the other

STOPS = "。！？；"
ASCII_STOPS = ".!?;"
CLAUSE_MARKS = "，,;"
CLOSERS = "”’」』）)】》〉"
QUOTE_PAIRS = {"“": "”", "「": "」", "『": "』"}
# Characters that stay with the mark before them: "好。”" and "吗？！" end after their last character.
TRAILING = CLOSERS + STOPS + "!?…"

# Kinds of cut, best first; an over-long span is split at its best kind of cut at the lowest quote depth.
_LINE, _STOP, _CLAUSE, _QUOTE = range(4)
_QUOTE_CHARS = re.compile('[“”「」『』"]')
_LINES = re.compile(r"[^\n]+")
# "配套专项产业基金 2. 德清地理信息小镇…": an inline list's item number starts a sentence; it does not end one.
_ITEM_NUMBER = re.compile(r"(?:(?<=\s)|^)\d{1,2}\.(?=[ \t\u3000]+[\u3400-\u9fff“\"])", re.MULTILINE)


@dataclass(frozen=True)
class ChunkingSettings:
    max_tokens: int = 120  # budget per chunk, counted on Chunk.text with tiktoken
    overlap_sentences: int = 1  # whole sentences repeated at the start of the next chunk
    encoding: str = "o200k_base"

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ConfigError(f"max_tokens must be at least 1, not {self.max_tokens}; raise RAG_CHUNK_TOKENS")
        if self.overlap_sentences < 0:
            raise ConfigError(f"overlap_sentences cannot be negative ({self.overlap_sentences})")


def split_sentences(text: str) -> list[Span]:
    """[start, end) of each sentence, in order, stripped of surrounding whitespace.

    Together the spans hold every non-whitespace character of `text`.

    >>> [("增长3.5%。下一句")[s:e] for s, e in split_sentences("增长3.5%。下一句")]
    ['增长3.5%。', '下一句']
    """
    cuts = _Cuts.find(text)
    return _pieces(text, 0, len(text), cuts.at_most(_STOP, 0, len(text)))


def chunk_article(article: Article, settings: ChunkingSettings) -> list[Chunk]:
    """Chunks of the article's text, each at most `settings.max_tokens` tokens unless one unsplittable piece."""
    text = article.text
    if not text.strip():
        return []
    encoder = get_encoder(settings.encoding)

    def count(start: int, end: int) -> int:
        return len(encoder.encode_ordinary(text[start:end])) if end > start else 0

    units = _units(text, settings.max_tokens, count)
    context = " · ".join(
        part for part in (article.title or article.display_title, article.subtitle, article.publication) if part
    )
    chunks: list[Chunk] = []
    for position, (first, last, tokens) in enumerate(_pack(units, settings, count)):
        start, end = units[first][0], units[last][1]
        body = text[start:end]
        chunks.append(
            Chunk(
                id=chunk_id(article.id, position, body, context, settings),
                article_id=article.id,
                position=position,
                text=body,
                tokens=tokens,
                start=start,
                end=end,
                context=context,
            )
        )
    return chunks


def chunk_id(article_id: str, position: int, text: str, context: str, settings: ChunkingSettings) -> str:
    """Stable across runs; changes with the text, its place, its context or the chunking settings."""
    fields = (article_id, str(position), text, context, str(settings.max_tokens), str(settings.overlap_sentences))
    return hashlib.sha1("\x1f".join((*fields, settings.encoding)).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class _Cuts:
    """Every place `text` may be cut, with its kind and its quote depth (how many “…” pairs it is in)."""

    positions: list[int]
    kinds: dict[int, int]
    depth: list[int]

    @classmethod
    def find(cls, text: str) -> _Cuts:
        pairs = [pair for line in _LINES.finditer(text) for pair in _quote_pairs(text, line.start(), line.end())]
        closing = {close for _, close in pairs}
        delta = [0] * (len(text) + 1)
        for open_, close in pairs:
            # a cut at p is inside the pair when open_ < p <= close
            delta[open_ + 1] += 1
            delta[close + 1] -= 1
        kinds: dict[int, int] = {}

        def add(position: int, kind: int) -> None:
            if 0 < position < len(text):
                kinds[position] = min(kind, kinds.get(position, kind))

        for line in _LINES.finditer(text):
            add(line.end(), _LINE)
        item_dots: set[int] = set()
        for item in _ITEM_NUMBER.finditer(text):
            add(item.start(), _STOP)
            item_dots.add(item.end() - 1)
        for i in range(len(text)):
            kind = None if i in item_dots else _mark_kind(text, i, closing)
            if kind is not None:
                add(_after_trailing(text, i + 1, closing), kind)
        for open_, close in pairs:
            add(open_, _QUOTE)
            add(_after_trailing(text, close + 1, closing), _QUOTE)
        return cls(sorted(kinds), kinds, list(itertools.accumulate(delta)))

    def inside(self, start: int, end: int) -> list[int]:
        return self.positions[bisect.bisect_right(self.positions, start) : bisect.bisect_left(self.positions, end)]

    def at_most(self, kind: int, start: int, end: int) -> list[int]:
        """Cuts of `kind` or better, outside all quotes, strictly inside [start, end)."""
        return [p for p in self.inside(start, end) if self.kinds[p] <= kind and self.depth[p] == 0]


def _quote_pairs(text: str, start: int, end: int) -> list[Span]:
    """(open, close) positions of matched quotes in one line; a stray quote pairs with nothing."""
    pairs: list[Span] = []
    stack: list[tuple[str, int]] = []
    ascii_open: int | None = None
    for match in _QUOTE_CHARS.finditer(text, start, end):
        char, at = match.group(), match.start()
        if char == '"':  # ASCII quotes alternate: open, close, open, ...
            if ascii_open is None:
                ascii_open = at
            else:
                pairs.append((ascii_open, at))
                ascii_open = None
        elif char in QUOTE_PAIRS:
            stack.append((QUOTE_PAIRS[char], at))
        else:
            for k in range(len(stack) - 1, -1, -1):
                if stack[k][0] == char:
                    pairs.append((stack[k][1], at))
                    del stack[k:]
                    break
    return pairs


def _mark_kind(text: str, i: int, closing: set[int]) -> int | None:
    char = text[i]
    if char in STOPS:
        return _STOP
    if char == "，":
        return _CLAUSE
    if char not in ASCII_STOPS and char != ",":
        return None
    before = text[i - 1] if i else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    if before.isdigit() and after.isdigit():  # 1,324.9 and 2.0
        return None
    if char in ASCII_STOPS:
        end = _after_trailing(text, i + 1, closing)
        following = text[end] if end < len(text) else ""
        # Chinese text typed with ASCII punctuation ("压力;湖州") ends sentences without a space.
        if not following or following.isspace() or following in QUOTE_PAIRS or _is_cjk(following):
            return _STOP
    return _CLAUSE if char in CLAUSE_MARKS else None


def _after_trailing(text: str, position: int, closing: set[int]) -> int:
    while position < len(text) and (text[position] in TRAILING or position in closing):
        position += 1
    return position


def _is_cjk(char: str) -> bool:
    """Chinese characters, and the CJK and full-width punctuation written between them."""
    return "\u3000" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" or "\uff00" <= char <= "\uffef"


def _pieces(text: str, start: int, end: int, cuts: list[int]) -> list[Span]:
    """The non-empty, stripped spans between consecutive cuts of [start, end)."""
    bounds = [start, *cuts, end]
    return [span for a, b in itertools.pairwise(bounds) if (span := _strip(text, a, b))[0] < span[1]]


def _strip(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _units(text: str, budget: int, count: Callable[[int, int], int]) -> list[Unit]:
    cuts = _Cuts.find(text)
    units: list[Unit] = []
    for start, end in _pieces(text, 0, len(text), cuts.at_most(_STOP, 0, len(text))):
        units.extend(_split_to_fit(text, start, end, count(start, end), budget, cuts, count))
    return units


def _split_to_fit(
    text: str, start: int, end: int, tokens: int, budget: int, cuts: _Cuts, count: Callable[[int, int], int]
) -> list[Unit]:
    inner = cuts.inside(start, end)
    if tokens <= budget or not inner:
        return [(start, end, tokens)]
    # Depth before kind: a comma outside the quotes beats a full stop inside one.
    best = min((cuts.depth[p], cuts.kinds[p]) for p in inner)
    chosen = [p for p in inner if (cuts.depth[p], cuts.kinds[p]) == best]
    units: list[Unit] = []
    for a, b in _pieces(text, start, end, chosen):
        units.extend(_split_to_fit(text, a, b, count(a, b), budget, cuts, count))
    return units


def _pack(units: list[Unit], settings: ChunkingSettings, count: Callable[[int, int], int]) -> list[Group]:
    """(first unit, last unit, tokens) of each chunk: greedy, each chunk as full as the budget allows."""
    budget, overlap = settings.max_tokens, settings.overlap_sentences
    # The sum of the units' tokens (and of the gaps between them) only estimates a chunk's count, as
    # BPE may merge across a boundary; it picks the candidate, and the exact count of the candidate decides.
    summed = list(itertools.accumulate((u[2] for u in units), initial=0))
    gaps = list(itertools.accumulate((count(a[1], b[0]) for a, b in itertools.pairwise(units)), initial=0))
    exact: dict[Span, int] = {}

    def estimate(first: int, last: int) -> int:
        return summed[last + 1] - summed[first] + gaps[last] - gaps[first]

    def tokens(first: int, last: int) -> int:
        if first == last:
            return units[first][2]
        if (first, last) not in exact:
            exact[first, last] = count(units[first][0], units[last][1])
        return exact[first, last]

    chunks: list[Group] = []
    first = first_new = 0  # first_new: the first unit no chunk holds yet; every chunk must take it
    while True:
        last = first_new
        while last + 1 < len(units) and estimate(first, last + 1) <= budget:
            last += 1
        while last > first_new and tokens(first, last) > budget:
            last -= 1
        while last + 1 < len(units) and tokens(first, last + 1) <= budget:
            last += 1
        chunks.append((first, last, tokens(first, last)))
        if last == len(units) - 1:
            return chunks
        # Repeat up to `overlap` units, fewer when they would leave no room for the next one; and
        # never the whole chunk, so every chunk brings at least one new unit.
        keep = min(overlap, last - first)
        while keep and tokens(last + 1 - keep, last + 1) > budget:
            keep -= 1
        first, first_new = last + 1 - keep, last + 1
