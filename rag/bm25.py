"""The lexical side of retrieval: Chinese word segmentation (jieba, search mode) for SQLite FTS5.

Chunks are stored pre-segmented, words separated by spaces, in an FTS5 table whose tokenizer keeps
"." and "%" inside tokens, so "1324.9" and "3%" stay whole; a question is segmented the same way.
FTS5's bm25() ranks the matches.
"""

from __future__ import annotations

import functools
import logging
import re

FTS_TOKENIZER = "unicode61 remove_diacritics 2 tokenchars '.%'"
_WORD = re.compile(r"[\w.%]+")
# Function words that match nearly every chunk and only add noise to a question.
_CHINESE_STOPWORDS = "的 了 是 在 和 与 及 或 为 对 等 有 多少 什么 哪些 哪个 怎样 如何 吗 呢 吧 啊 年 月 日 个"
_ENGLISH_STOPWORDS = "the a an of in on at to for and or is are was were be what how many much which who by with"
_ENGLISH_VERBS = "did does do had has have"
STOPWORDS = frozenset(f"{_CHINESE_STOPWORDS} {_ENGLISH_STOPWORDS} {_ENGLISH_VERBS}".split())


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
    words = dict.fromkeys(w for w in segment(question) if w not in STOPWORDS and w.strip(".%"))
    if not words:
        return None
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
