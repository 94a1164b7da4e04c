"""Which sentences of the retrieved passages answer the question, and how well.

The question is cut into content words (jieba), each weighted by how rare it is in the corpus and doubled
when it sits in the clause that asks ("…实际利用外资多少？"): that clause names what is wanted. A sentence
covers a word when it contains it; a word it only half-shares ("危旧房" for "破旧危险住房") counts in part,
through the character pairs they share. The neighbouring sentences and the article title give context at
half weight ("该高新区" in a sentence, "莫干山高新区" in the title).

A question that asks for a figure ("5G用户数达到多少？") also says what the figure counts (用户数). A sentence
fits it only with a figure whose clause names that thing, in at least half its characters ("总长度近10公里" for
"全长"), or whose measure word is the one asked with ("4000家外协厂" for "多少家外包加工户"): "建设5G基站773个"
counts base stations, not users. A figure that sizes a set the sentence's subject is one of ("属于国家35项
“卡脖子”技术之一") counts the set, not the subject's own: it fits only a question about that membership (之一).

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

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
_SET_MEMBER = re.compile(r"之一[\"'”’」』)）]*$")  # "…35项“卡脖子”技术之一"
_MEASURE_WORD = re.compile(r"^[个项家所位条名座只头台辆艘架栋间套张棵株次件种类批户人]")  # "多少家" + "外包加工户"
# Measure words particular enough to say what is counted (家: firms, 户: households); 个, 项 and 次 are not.
_TELLING_MEASURES = frozenset("家所位条名座只头台辆艘架栋间套张棵株户人")
_FIGURE_CLAUSE = re.compile(r"[^，,；;？?！!。\n]+")  # a figure's clause: not split at 、 or ：
# Part-of-speech tags (jieba.posseg) of words that can name a thing counted: nouns (n, nr, ns, nt, nz), verbal
# and adjectival nouns, abbreviations, set phrases, locative nouns and Latin words ("5G").
_THING_TAGS = frozenset(["vn", "an", "j", "l", "s", "i", "eng", "b"])
_NOT_QUALIFYING_TAGS = frozenset(["ns", "nr", "vn", "s"])
_SCOPE_WORDS = frozenset(["全市", "全县", "全区", "全省", "全国", "我市", "本市", "全镇", "市区", "县区"])
_TIME = re.compile(r"(?:19|20)\d\d|\d{1,2}|[0-9]{1,2}月(?:底|初|末)?")
_CJK = re.compile(r"[\u3400-\u9fff]")
AMOUNT_SUFFIX = re.compile(r"(?:总额|金额|总量|数量|总数|额|量|数)$")  # "how much of" a thing: 用户数, 贷款总额
# Tags (first letter) jieba gives a lone character that heads a compound it cut off: 仓 nr, 厂 zg, 机 n, 桩 q.
_NOMINAL_CHAR_TAGS = frozenset("nzqk")
HEADED_COMPOUND = 3  # characters from which a counted thing's last one (its head) must be named
FOCUS_BOOST = 3.0
FOCUS_SPAN = 2  # content words on each side of the question word
CONTEXT_CREDIT = 0.5  # a word found only in a neighbouring sentence or the title
PARTIAL_CREDIT = 0.5  # per share of a word's character pairs found
LAYOUT_CACHE_SIZE = 8192  # chunks whose sentence layout is kept; a few MB for a corpus of ten thousand chunks


@dataclass(frozen=True)
class Counted:
    """What one asked figure counts: "多少家外包加工户" -> 加工户, measure 家; "用户数达到多少" -> thing 用户数."""

    thing: str | None
    measure: str | None  # a telling measure word asked with (_TELLING_MEASURES)
    qualifiers: tuple[str, ...] = ()  # the nouns before the thing in its phrase: 省级 in "省级众创空间"


@dataclass(frozen=True)
class Question:
    text: str
    weights: dict[str, float]  # content word -> weight
    wants_figure: bool
    cross_lingual: bool  # mostly Latin script: words cannot be matched against the Chinese passages
    counted: tuple[Counted, ...] = ()  # what each asked figure counts; empty when the question does not say
    # Other spellings of a word and what each is worth: a synonym, or the Chinese for an English phrase
    # (rag.lexicon). A word is credited by its best-found spelling, itself at full weight.
    alternatives: Mapping[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Sentence:
    passage: int  # index into the passages; cited as [passage + 1]
    start: int  # offsets into the passage text
    end: int
    text: str
    coverage: float  # 0..1, weighted share of the question's words this sentence (with context) holds
    has_figure: bool
    fits: bool  # can answer this kind of question: for a figure, states one of the thing counted


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
    cross_lingual = is_cross_lingual(question)
    return Question(
        text=question,
        weights=weights,
        wants_figure=bool(_WANTS_FIGURE.search(question)),
        cross_lingual=cross_lingual,
        counted=() if cross_lingual else _in_corpus_words(counted_things(question), document_frequencies),
    )


def _in_corpus_words(
    counted: tuple[Counted, ...], document_frequencies: Callable[[Iterable[str]], dict[str, int]]
) -> tuple[Counted, ...]:
    """The counted things with only the qualifiers the corpus uses as words. A qualifier no passage holds is the
    asker's own wording ("代加工小厂" for "外协厂", "挥发性有机物" for "VOC"): requiring it literally refuses every
    sentence, while one the corpus does use ("省级" in "省级众创空间") tells figures apart."""
    qualifiers = {q for c in counted for q in c.qualifiers}
    if not qualifiers:
        return counted
    used = document_frequencies(qualifiers)
    return tuple(replace(c, qualifiers=tuple(q for q in c.qualifiers if used.get(q))) for c in counted)


def is_cross_lingual(question: str) -> bool:
    """Mostly Latin script: the question's words cannot be matched against the Chinese passages as they are."""
    return len(re.findall(r"[A-Za-z]", question)) > len(_CJK.findall(question))


def counted_things(question: str) -> tuple[Counted, ...]:
    """What each figure the question asks for counts: "截至5月底，湖州5G用户数达到多少？" -> 用户数.

    The noun phrase after the question word names it ("多少项具体量化的帮扶措施" -> 措施); when only a unit follows
    ("多少公里", "多少亿元"), the nearest word before does ("新增绿道多少公里" -> 绿道), passing over linking verbs.
    Empty when one of the asked figures has neither: any figure may answer it."""
    counted = []
    for clause in _CLAUSE.split(question):
        asking = _WANTS_FIGURE.search(clause)
        if asking is None:
            continue
        after = clause[asking.end() :]
        leading = _MEASURE_WORD.match(after)  # "多少家…"; "几家" holds its own
        measure = leading.group() if leading else asking.group()[-1]
        after = after[leading.end() :] if leading else after
        thing, qualifiers = _phrase_after(_compounds(_tagged(after)))
        if thing is None:
            thing, qualifiers = _phrase_before(_compounds(_tagged(clause[: asking.start()])))
        telling = measure if measure in _TELLING_MEASURES else None
        if not (thing or telling):
            return ()
        counted.append(Counted(thing, telling, qualifiers))
    return tuple(dict.fromkeys(counted))


def names(text: str, thing: str) -> bool:
    """Whether `text` names `thing` in at least half its characters ("总长度近10公里" names 全长), its head among them
    when it is a compound of three or more: a Chinese compound ends in what it is (海外仓 is a 仓, not a 海外招商
    联络处; 外协厂 and 小厂 are both 厂), before a suffix that says "how much of it" (用户数: 用户)."""
    text = _normalised_clause(text)
    if thing in text:
        return True
    chars = set(thing)
    if sum(1 for ch in chars if ch in text) < math.ceil(len(chars) / 2):
        return False
    return len(thing) < HEADED_COMPOUND or _head(thing) in text


def _head(thing: str) -> str:
    return AMOUNT_SUFFIX.sub("", thing)[-1:] or thing[-1]


def load_word_models() -> None:
    """Load jieba's dictionary and tagger now (about a second) rather than on the first question."""
    _content_words("湖州")
    _tagged("湖州")


def rank_sentences(question: Question, passages: Sequence[Passage]) -> list[Sentence]:
    """Every sentence of every passage, best covered first (ties: earlier passage, earlier sentence)."""
    scorer = _Scorer.of(question)
    sentences = [s for i, passage in enumerate(passages) for s in _sentences(question, scorer, i, passage)]
    return sorted(sentences, key=lambda s: (-s.coverage, s.passage, s.start))


def coverage(question: Question, text: str, context: str = "") -> float:
    """Weighted share of the question's words in `text`; words only in `context` count at half weight."""
    return _Scorer.of(question).coverage(normalise(text), normalise(context))


# A word's spellings (itself first, then its alternatives): the text, what it is worth (None: itself, in full), and
# its character pairs, for partial credit (None: a word too short or not Chinese gets none).
_Spelling = tuple[str, float | None, tuple[str, ...] | None]


@dataclass(frozen=True)
class _Scorer:
    """What coverage needs of a question, worked out once for all the sentences it scores."""

    total: float  # the sum of the word weights
    words: tuple[tuple[float, tuple[_Spelling, ...]], ...]  # (weight, spellings), in the question's word order
    texts: frozenset[str] = frozenset()  # every spelling's text
    pairs: frozenset[str] = frozenset()  # every spelling's character pairs

    @classmethod
    def of(cls, question: Question) -> _Scorer:
        words = tuple(
            (
                weight,
                (
                    _spelling(word, None),
                    *(_spelling(alternative, worth) for alternative, worth in question.alternatives.get(word, ())),
                ),
            )
            for word, weight in question.weights.items()
        )
        texts = frozenset(text for _, spellings in words for text, _, _ in spellings)
        pairs = frozenset(pair for _, spellings in words for _, _, found in spellings for pair in found or ())
        return cls(sum(question.weights.values()), words, texts, pairs)

    def within(self, layout: _PassageLayout) -> _PassageScorer:
        """This scorer for the sentences of one passage: only the spellings the passage holds anywhere, and of their
        character pairs only those it holds. A spelling or pair a passage lacks is in none of its sentences, so it
        gives no credit there: leaving it out moves no score."""
        texts = {text for text in self.texts if text in layout.owns or text in layout.arounds}
        pairs = {pair for pair in self.pairs if pair in layout.owns}
        words = []
        for weight, spellings in self.words:
            kept = []
            for text, worth, found in spellings:
                present = () if found is None or not pairs else tuple(pair for pair in found if pair in pairs)
                if present or text in texts:
                    kept.append((text, worth, present, len(found) if found is not None else 0))
            if kept:
                words.append((weight, tuple(kept)))
        return _PassageScorer(self.total, tuple(words))

    def coverage(self, own: str, around: str) -> float:
        """Weighted share of the words in `own`, those only in `around` at CONTEXT_CREDIT; the best spelling of each
        counts. The same arithmetic, in the same order, as word-by-word `_credit` calls: scores do not move."""
        if not self.total:
            return 0.0
        credits = []
        for weight, spellings in self.words:
            best = 0.0
            for i, (text, worth, pairs) in enumerate(spellings):
                if text in own:
                    credit = 1.0
                elif text in around:
                    credit = CONTEXT_CREDIT
                elif pairs is None:
                    credit = 0.0
                else:
                    credit = PARTIAL_CREDIT * sum(1 for pair in pairs if pair in own) / len(pairs)
                if worth is not None:
                    credit = worth * credit
                best = credit if i == 0 else max(best, credit)
            credits.append(weight * best)
        return sum(credits) / self.total


# A spelling a passage holds: its text, worth, the character pairs the passage holds and how many pairs it has in all.
_PresentSpelling = tuple[str, float | None, tuple[str, ...], int]


@dataclass(frozen=True)
class _PassageScorer:
    """`_Scorer.within` one passage: the same coverage for its sentences, from fewer spellings. A word left out
    would add weight * 0.0, and adding 0.0 leaves a float sum as it was."""

    total: float
    words: tuple[tuple[float, tuple[_PresentSpelling, ...]], ...]

    def coverage(self, own: str, around: str) -> float:
        if not self.total:
            return 0.0
        credits = []
        for weight, spellings in self.words:
            best = 0.0
            for text, worth, pairs, n_pairs in spellings:
                if text in own:
                    credit = 1.0
                elif text in around:
                    credit = CONTEXT_CREDIT
                elif not n_pairs:
                    credit = 0.0
                else:
                    credit = PARTIAL_CREDIT * sum(1 for pair in pairs if pair in own) / n_pairs
                if worth is not None:
                    credit = worth * credit
                if credit > best:  # credits are >= 0, so the best of them is the first one's max with 0.0
                    best = credit
            credits.append(weight * best)
        return sum(credits) / self.total


def _spelling(text: str, worth: float | None) -> _Spelling:
    pairs = tuple(_pairs(text)) if len(text) >= 2 and _CJK.search(text) else None
    return text, worth, pairs


def _sentences(question: Question, scorer: _Scorer, index: int, passage: Passage) -> list[Sentence]:
    layout = _layout(passage.text, passage.title)
    within = scorer.within(layout)
    return [
        Sentence(
            passage=index,
            start=part.start,
            end=part.end,
            text=passage.text[part.start : part.end],
            coverage=within.coverage(part.own, part.around),
            has_figure=bool(part.figures),
            fits=_fits(question, part.figures),
        )
        for part in layout.sentences
    ]


def sentence_coverages(question: Question, passages: Sequence[Passage]) -> list[list[tuple[float, bool]]]:
    """For each passage, (coverage, has_figure) of each of its sentences: what `rank_sentences` scores them,
    without the rest of a Sentence (retrieval reads only these)."""
    scorer = _Scorer.of(question)
    found = []
    for passage in passages:
        layout = _layout(passage.text, passage.title)
        within = scorer.within(layout)
        found.append([(within.coverage(part.own, part.around), bool(part.figures)) for part in layout.sentences])
    return found


def _fits(question: Question, figures: Sequence[_FigureSlot]) -> bool:
    if not question.wants_figure:
        return True
    own = [f for f in figures if not f.sizes_a_set or "之一" in question.text]
    if not question.counted:
        return bool(own)
    return any(_counts(figure, counted) for figure in own for counted in question.counted)


def _counts(figure: _FigureSlot, counted: Counted) -> bool:
    if not all(names(figure.clause, q) for q in counted.qualifiers):
        return False
    if counted.measure and figure.unit.startswith(counted.measure):
        return True
    return counted.thing is not None and bool(counted.thing) and names(figure.clause, counted.thing)


@dataclass(frozen=True)
class _SentenceLayout:
    """What scoring needs of one sentence that does not depend on the question."""

    start: int
    end: int
    own: str  # normalised sentence
    around: str  # normalised title and neighbouring sentences
    figures: tuple[_FigureSlot, ...]


@dataclass(frozen=True)
class _FigureSlot:
    clause: str  # normalised clause of the sentence that holds the figure
    unit: str  # Figure.unit: "家", "公里", "%"
    sizes_a_set: bool  # "属于国家35项“卡脖子”技术之一": the size of a set the subject is one of


@dataclass(frozen=True)
class _PassageLayout:
    sentences: tuple[_SentenceLayout, ...]
    # Every sentence's own and around text, joined by a newline, which no normalised word holds: a word is in
    # one of the sentences exactly when it is in the joined text.
    owns: str
    arounds: str


@functools.lru_cache(maxsize=LAYOUT_CACHE_SIZE)
def _layout(text: str, title: str) -> _PassageLayout:
    # Splitting and figure-finding cost more than scoring itself, and the same chunks come back query after query.
    spans = split_sentences(text)
    layouts = []
    for i, (start, end) in enumerate(spans):
        before = text[spans[i - 1][0] : spans[i - 1][1]] if i else ""
        after = text[spans[i + 1][0] : spans[i + 1][1]] if i + 1 < len(spans) else ""
        sentence = text[start:end]
        around = normalise(f"{title}\n{before}\n{after}")
        layouts.append(_SentenceLayout(start, end, normalise(sentence), around, _figure_slots(sentence)))
    owns = "\n".join(part.own for part in layouts)
    arounds = "\n".join(part.around for part in layouts)
    return _PassageLayout(tuple(layouts), owns, arounds)


def _figure_slots(sentence: str) -> tuple[_FigureSlot, ...]:
    clauses = [(m.start(), m.end()) for m in _FIGURE_CLAUSE.finditer(sentence)]
    slots = []
    for figure in extract_figures(sentence):
        start, end = next(((s, e) for s, e in clauses if s <= figure.start < e), (0, len(sentence)))
        rest = sentence[figure.end : end].strip()
        slots.append(_FigureSlot(normalise(sentence[start:end]), figure.unit, bool(_SET_MEMBER.search(rest))))
    return tuple(slots)


@functools.lru_cache(maxsize=16384)
def _normalised_clause(text: str) -> str:
    # A figure's clause is checked against every question that asks for a figure: normalise it once.
    return normalise(text)


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


def _tagged(text: str) -> list[tuple[str, str]]:
    import jieba.posseg

    return [(normalise(p.word), p.flag) for p in jieba.posseg.cut(text) if normalise(p.word)]


def _compounds(words: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The words with a lone nominal character joined to the word before it: jieba cuts "海外仓" into 海外 + 仓 and
    "污水厂" into 污水 + 厂, and the thing counted is the whole compound, headed by that character."""
    joined: list[tuple[str, str]] = []
    for word, tag in words:
        before = joined[-1][0] if joined else ""
        if (
            len(word) == 1
            and _CJK.match(word)
            and tag[:1] in _NOMINAL_CHAR_TAGS
            and len(before) >= 2
            and _CJK.search(before)
            and before not in _QUESTION_WORDS
            and before not in STOPWORDS
        ):
            joined[-1] = (before + word, "n")
        else:
            joined.append((word, tag))
    return joined


def _names_a_thing(word: str, tag: str) -> bool:
    if len(word) < 2 or word in _QUESTION_WORDS or word in STOPWORDS:
        return False
    return tag.startswith("n") or tag in _THING_TAGS


def _phrase_after(words: list[tuple[str, str]]) -> tuple[str | None, tuple[str, ...]]:
    """The noun phrase after the question word, as its last noun and the nouns before that:
    "新冠重症患者得到有效救治" -> 患者, (新冠, 重症); "具体量化的帮扶措施" -> 措施, ()."""
    run: list[tuple[str, str]] = []
    phrase: list[tuple[str, str]] = []
    for word, tag in words:
        if _names_a_thing(word, tag):
            run.append((word, tag))
            phrase = list(run)
        elif phrase and tag.startswith("v"):  # the verb after the phrase
            break
        else:
            run = []
    return (phrase[-1][0], _qualifiers(phrase[:-1])) if phrase else (None, ())


def _phrase_before(words: list[tuple[str, str]]) -> tuple[str | None, tuple[str, ...]]:
    """The nearest noun phrase (or verb) before the question word, past linking verbs:
    "新增省级众创空间" -> 空间, (省级, 众创)."""
    for i in reversed(range(len(words))):
        word, tag = words[i]
        if word in _LINKING_VERBS:
            continue
        if _names_a_thing(word, tag):
            start = i
            while start > 0 and _names_a_thing(*words[start - 1]):
                start -= 1
            return word, _qualifiers(words[start:i])
        if tag.startswith("v") and len(word) > 1 and word not in _QUESTION_WORDS:
            return word, ()
    return None, ()


def _qualifiers(words: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """The nouns that narrow a thing down; places, people, scope words ("全市") and verbal nouns do not."""
    return tuple(w for w, tag in words if tag not in _NOT_QUALIFYING_TAGS and w not in _SCOPE_WORDS)


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
