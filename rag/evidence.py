"""Which sentences of the retrieved passages answer the question, and how well.

The question is cut into content words (jieba), each weighted by how rare it is in the corpus and doubled
when it sits in the clause that asks ("…实际利用外资多少？"): that clause names what is wanted. A sentence
covers a word when it contains it; a word it only half-shares ("危旧房" for "破旧危险住房") counts in part,
through the character pairs they share. The neighbouring sentences and the article title give context at
half weight ("该高新区" in a sentence, "莫干山高新区" in the title).

This one measure ranks the sentences for an extractive answer and decides whether the passages answer the
question at all (rag.answerability).

    question = analyse_question("去年湖州规上工业增加值是多少？", index.document_frequencies, index.chunk_count())
    sentences = rank_sentences(question, passages)
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rag.bm25 import STOPWORDS, cut_words, segment
from rag.chunking import split_sentences
from rag.models import Passage
from rag.verify import extract_figures

# Words that ask or point in time rather than name what is asked about.
_ASKING_AND_DEICTIC = (
    "多少 几 几个 什么 哪 哪些 哪个 哪里 哪所 哪家 谁 怎样 怎么 如何 是否 吗 呢 一共 共 大约 约 总共 分别 "
    "今年 去年 目前 截至 截止 以来 至今 现在 当前 那 那位 那种 那条 那个 这 这个 该 其 已 已经 "
    "how many much what which who whom when where why whose does did do is are was were there"
)
_QUESTION_WORDS = frozenset(_ASKING_AND_DEICTIC.split())
# Verbs that link a quantity to what it counts ("用户数达到多少"): the counted noun is the focus, not them.
_LINKING_VERBS = frozenset(
    [
        "达到",
        "达",
        "完成",
        "实现",
        "为",
        "是",
        "有",
        "共有",
        "拥有",
        "约为",
        "超过",
        "突破",
        "累计",
        "占",
        "合计",
        "推出",
        "形成",
    ]
)
_ASKING = re.compile(
    r"多少|几[个项家所位条年]?|什么|哪|谁|怎样|怎么|如何|是否|\b(?:how|what|which|who|when|where)\b", re.IGNORECASE
)
_WANTS_FIGURE = re.compile(
    r"多少|几[个项家位条年名万亿]|\bhow (?:many|much)\b|\bwhat (?:percentage|share|number)\b", re.IGNORECASE
)
_CLAUSE = re.compile(r"[，,；;、：:？?！!。]")
_TIME = re.compile(r"(?:19|20)\d\d|\d{1,2}|[0-9]{1,2}月(?:底|初|末)?")
_CJK = re.compile(r"[\u3400-\u9fff]")
FOCUS_BOOST = 3.0
FOCUS_SPAN = 2  # content words on each side of the question word
CONTEXT_CREDIT = 0.5  # a word found only in a neighbouring sentence or the title
PARTIAL_CREDIT = 0.5  # per share of a word's character pairs found
LAYOUT_CACHE_SIZE = 8192  # chunks whose sentence layout is kept; a few MB for a corpus of ten thousand chunks


@dataclass(frozen=True)
class Question:
    text: str
    weights: dict[str, float]  # content word -> weight
    wants_figure: bool
    cross_lingual: bool  # mostly Latin script: words cannot be matched against the Chinese passages


@dataclass(frozen=True)
class Sentence:
    passage: int  # index into the passages; cited as [passage + 1]
    start: int  # offsets into the passage text
    end: int
    text: str
    coverage: float  # 0..1, weighted share of the question's words this sentence (with context) holds
    has_figure: bool


def normalise(text: str) -> str:
    """NFKC, lower case, no whitespace: the form in which words are matched."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def analyse_question(
    question: str, document_frequencies: Callable[[Iterable[str]], dict[str, int]], n_chunks: int
) -> Question:
    words = _content_words(question)
    frequencies = _frequencies(words, document_frequencies)
    focus = _focus_words(question)
    weights = {word: _idf(frequencies[word], n_chunks) * (FOCUS_BOOST if word in focus else 1.0) for word in words}
    latin = len(re.findall(r"[A-Za-z]", question))
    return Question(
        text=question,
        weights=weights,
        wants_figure=bool(_WANTS_FIGURE.search(question)),
        cross_lingual=latin > len(_CJK.findall(question)),
    )


def rank_sentences(question: Question, passages: Sequence[Passage]) -> list[Sentence]:
    """Every sentence of every passage, best covered first (ties: earlier passage, earlier sentence)."""
    sentences = [s for i, passage in enumerate(passages) for s in _sentences(question, i, passage)]
    return sorted(sentences, key=lambda s: (-s.coverage, s.passage, s.start))


def coverage(question: Question, text: str, context: str = "") -> float:
    """Weighted share of the question's words in `text`; words only in `context` count at half weight."""
    return _normalised_coverage(question, normalise(text), normalise(context))


def _normalised_coverage(question: Question, own: str, around: str) -> float:
    total = sum(question.weights.values())
    if not total:
        return 0.0
    credit = sum(weight * _credit(word, own, around) for word, weight in question.weights.items())
    return credit / total


def _sentences(question: Question, index: int, passage: Passage) -> list[Sentence]:
    return [
        Sentence(
            passage=index,
            start=part.start,
            end=part.end,
            text=passage.text[part.start : part.end],
            coverage=_normalised_coverage(question, part.own, part.around),
            has_figure=part.has_figure,
        )
        for part in _layout(passage.text, passage.title)
    ]


@dataclass(frozen=True)
class _SentenceLayout:
    """What scoring needs of one sentence that does not depend on the question."""

    start: int
    end: int
    own: str  # normalised sentence
    around: str  # normalised title and neighbouring sentences
    has_figure: bool


@functools.lru_cache(maxsize=LAYOUT_CACHE_SIZE)
def _layout(text: str, title: str) -> tuple[_SentenceLayout, ...]:
    # Splitting and figure-finding cost more than scoring itself, and the same chunks come back query after query.
    spans = split_sentences(text)
    layouts = []
    for i, (start, end) in enumerate(spans):
        before = text[spans[i - 1][0] : spans[i - 1][1]] if i else ""
        after = text[spans[i + 1][0] : spans[i + 1][1]] if i + 1 < len(spans) else ""
        sentence = text[start:end]
        around = normalise(f"{title}\n{before}\n{after}")
        layouts.append(_SentenceLayout(start, end, normalise(sentence), around, bool(extract_figures(sentence))))
    return tuple(layouts)


def _credit(word: str, text: str, context: str) -> float:
    if word in text:
        return 1.0
    if word in context:
        return CONTEXT_CREDIT
    if len(word) < 2 or not _CJK.search(word):
        return 0.0
    pairs = _pairs(word)
    shared = sum(1 for pair in pairs if pair in text)
    return PARTIAL_CREDIT * shared / len(pairs)


def _pairs(word: str) -> set[str]:
    return {word[i : i + 2] for i in range(len(word) - 1)}


def _content_words(text: str) -> list[str]:
    words = []
    for word in _jieba_words(text):
        if word in STOPWORDS or word in _QUESTION_WORDS:
            continue
        if len(word) == 1 and not word.isdigit():  # measure words and particles: 户, 项, 把, 被
            continue
        if _TIME.fullmatch(word):  # years and dates anchor a claim in time; the passage may say "去年"
            continue
        words.append(word)
    return list(dict.fromkeys(words))


def _focus_words(question: str) -> set[str]:
    """The content words next to each question word, within its clause: what is asked for.

    "…5G用户数达到多少？" -> {"用户数", "达到"}: `5G` qualifies, `用户数` is the thing counted."""
    focus: set[str] = set()
    for clause in _CLAUSE.split(question):
        for asking in _ASKING.finditer(clause):
            before = _content_words(clause[: asking.start()])
            after = _content_words(clause[asking.end() :])
            named = [w for w in before if w not in _LINKING_VERBS][-FOCUS_SPAN:]
            focus.update(named + [w for w in after if w not in _LINKING_VERBS][:FOCUS_SPAN])
    return focus


def _jieba_words(text: str) -> list[str]:
    words = (normalise(w) for w in cut_words(text))
    return [w for w in words if w and re.fullmatch(r"[\w.%]+", w)]


def _frequencies(words: list[str], document_frequencies: Callable[[Iterable[str]], dict[str, int]]) -> dict[str, int]:
    """Chunks holding each word; a word the index never segmented alone takes its rarest search-mode part."""
    direct = document_frequencies(words)
    parts = {w: [p for p in segment(w) if p != w] for w in words if not direct.get(w)}
    by_part = document_frequencies(p for ps in parts.values() for p in ps)
    frequencies = dict(direct)
    for word, word_parts in parts.items():
        known = [by_part[p] for p in word_parts if by_part.get(p)]
        frequencies[word] = min(known) if known else 0
    return frequencies


def _idf(document_frequency: int, n_chunks: int) -> float:
    return math.log(1 + (n_chunks - document_frequency + 0.5) / (document_frequency + 0.5))
