"""The lexical side of retrieval: Chinese word segmentation (jieba, search mode) for SQLite FTS5.

Chunks are stored pre-segmented, words separated by spaces, in an FTS5 table whose tokenizer keeps
"." and "%" inside tokens, so "1324.9" and "3%" stay whole; a question is segmented the same way.
FTS5's bm25() ranks the matches.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

FTS_TOKENIZER = "unicode61 remove_diacritics 2 tokenchars '.%'"
_WORD = re.compile(r"[\w.%]+")
# Function words that match nearly every chunk and only add noise to a question.
_CHINESE_STOPWORDS = "的 了 是 在 和 与 及 或 为 对 等 有 多少 什么 哪些 哪个 怎样 如何 吗 呢 吧 啊 年 月 日 个"
_ENGLISH_STOPWORDS = "the a an of in on at to for and or is are was were be what how many much which who by with"
_ENGLISH_VERBS = "did does do had has have"
STOPWORDS = frozenset(f"{_CHINESE_STOPWORDS} {_ENGLISH_STOPWORDS} {_ENGLISH_VERBS}".split())


def jieba_module() -> Any:
    """jieba, initialised once (rag.lexicon.userdict adds the user words to it)."""
    return _jieba()


@functools.lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def segment(text: str) -> list[str]:
    """Words for the index: jieba's search mode also emits the short words inside long ones."""
    words = (w.strip().lower() for w in _jieba().cut_for_search(text))
    return [w for w in words if w and _WORD.fullmatch(w)]


def cut_words(text: str) -> list[str]:
    """Words in jieba's precise mode: each word once, long words whole ("规上工业增加值")."""
    return [w.strip() for w in _jieba().cut(text) if w.strip()]


def segmented(text: str) -> str:
    return " ".join(segment(text))


def match_query(question: str) -> str | None:
    """An FTS5 MATCH expression: any of the question's content words, each quoted (no FTS syntax leaks)."""
    return match_expression(query_words(question))


def match_expression(words: Sequence[str]) -> str | None:
    """`match_query` from the question's `query_words`, when they are at hand already."""
    if not words:
        return None
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)


BM25_K1 = 1.2  # FTS5's bm25() defaults, so weighted and plain scores rank alike
BM25_B = 0.75


def weighted_bm25(
    weights: Mapping[str, float],
    postings: Mapping[str, Mapping[int, int]],
    lengths: Mapping[int, int],
    k: int,
    frequencies: Mapping[str, int] | None = None,
) -> list[tuple[int, float]]:
    """Okapi BM25 where each term's contribution is scaled by its weight (a synonym at half, a translation by
    how sure it is), which FTS5's MATCH cannot express. Best first; terms no chunk holds add nothing.

        weighted_bm25({"基站": 1.0, "站点": 0.5}, index.term_postings(...), index.chunk_lengths(), k=30)

    `frequencies` (document frequencies over the whole index) keep each word's idf when `postings` holds only
    the chunks a filter allows, as FTS5's bm25() keeps it under a filter.
    """
    n_chunks = len(lengths)
    if not n_chunks:
        return []
    mean_length = sum(lengths.values()) / n_chunks
    scores: dict[int, float] = {}
    for term, weight in weights.items():
        chunks = postings.get(term, {})
        if not chunks or weight <= 0:
            continue
        df = len(chunks) if frequencies is None else frequencies.get(term, len(chunks))
        idf = math.log(1 + (n_chunks - df + 0.5) / (df + 0.5))
        for chunk, frequency in chunks.items():
            norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths.get(chunk, mean_length) / mean_length)
            gain = weight * idf * frequency * (BM25_K1 + 1) / (frequency + norm)
            scores[chunk] = scores.get(chunk, 0.0) + gain
    ranked = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
    return ranked[:k]


def query_words(question: str) -> Sequence[str]:
    """The question's content words as the index holds them (what `match_query` ORs together)."""
    return list(dict.fromkeys(w for w in segment(question) if w not in STOPWORDS and w.strip(".%")))
