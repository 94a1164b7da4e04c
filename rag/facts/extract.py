"""Every figure of an article as a row of the figures table.

    facts = extract_facts(article, home_place="湖州")
    facts[0].indicator, facts[0].value, facts[0].period   # "规上工业增加值", 132490000000.0, "Y-1"

For each figure (rag.verify.extract_figures) of each sentence (rag.chunking.split_sentences):
- indicator: the noun phrase of its clause (jieba's tagger) that it measures. Before the figure as a rule
  ("实现规上工业增加值1324.9亿元"); after it when a classifier joins the two ("集聚38家科研机构"), since Chinese puts
  number and classifier before the noun. A growth rate with no noun of its own ("同比增长3%") measures the
  figure before it in the sentence.
- owner: the first place the sentence names before the figure (rag.facts.owners), else the headline's, else the
  article's (its paper's city, or the home place).
- period: the time words before the figure (rag.facts.periods), else the year of the report section it is in
  ("一、2013年主要工作"), resolved against the article's date.
- kind: the last modal word before it, in the sentence: 计划, 目标, 力争, 要, 将… make a target, 预计, 有望 a
  forecast, 已, 目前, 截至, 累计 an actual. A figure for a period that had not ended when the article was written
  ("2014年…" in a report given in February 2014) cannot be an actual: it is a target.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.chunking import split_sentences
from rag.facts.models import Fact, Flag, Kind, Measure
from rag.facts.owners import article_place, owner_name, places_in, ranked_places, subject, title_place
from rag.facts.periods import PeriodReading, ReferenceDate, has_ended, heading_years, read_period, reference_date
from rag.facts.phrases import (
    ACTUAL_WORDS,
    CLASSIFIERS,
    FLAG_WORDS,
    FORECAST_WORDS,
    GROWTH_WORDS,
    SET_MEMBER,
    SHARE_WORDS,
    TARGET_WORDS,
    Word,
    before_growth,
    last_verb,
    phrase_after,
    phrase_before,
    words_of,
)
from rag.models import Article
from rag.verify import Figure, extract_figures

SUBJECT_REACH = 150  # characters after a sentence that opens with a place within which its place still holds
EXTRACT_VERSION = 9  # bump when the rows change: the index is rebuilt
_CLAUSE = re.compile(r"[^，,；;？?！!。\n]+")
_BACK_REFERENCE = re.compile(r"[该本](高新区|开发区|新区|园区|街道|区|县|镇)")
_LIST_JOINS = ("、", "和", "及", "与", "以及")
_GOAL_NOUNS = ("目标", "任务", "计划")
_PROGRAMME_HEADS = frozenset(["计划", "规划"])
_CLOSING_QUOTES = frozenset('"”’」』')


@dataclass(frozen=True)
class _ArticleContext:
    article: Article
    home_place: str
    owner: str  # the article's own place
    local_owner: str | None  # the headline's place
    reference: ReferenceDate | None
    headings: tuple[tuple[int, str], ...]


def extract_facts(article: Article, home_place: str) -> list[Fact]:
    """The figures of `article.text` as rows, in text order."""
    owner = article_place(article, home_place)
    context = _ArticleContext(
        article=article,
        home_place=home_place,
        owner=owner,
        local_owner=title_place(article, home_place),
        reference=reference_date(article),
        headings=tuple(heading_years(article.text)),
    )
    facts: list[Fact] = []
    paragraph_period: PeriodReading | None = None  # "上半年，全市…。其中出口2848.0亿元": the same half year
    named: list[str] = []  # the places named so far, for "该高新区"
    carried_owner: str | None = None  # the subject a sentence opened with, and where that sentence ended
    carried_from = 0
    for start, end in split_sentences(article.text):
        sentence = article.text[start:end]
        if "\n" in article.text[max(0, start - 2) : start + 1] or start - carried_from > SUBJECT_REACH:
            carried_owner = None
        if "\n" in article.text[max(0, start - 2) : start + 1]:
            paragraph_period = None
        referred = _referred_owner(sentence, named)
        paragraph_owner = referred or carried_owner
        found = _sentence_facts(context, start, end, paragraph_owner, paragraph_period)
        facts.extend(found)
        stated = [f for f in found if f.period_text]
        if stated:
            last = stated[-1]
            paragraph_period = PeriodReading(last.period, last.period_text, last.as_of)
        # A sentence's subject carries to the sentences just after it ("吴兴区…125户…。享受贷款贴息171户"), not
        # through a report's page-long paragraph: after "安吉获得…称号。" the report is about the city again.
        if leading := _leading_owner(context, sentence) or referred:
            carried_owner, carried_from = leading, end
        named.extend(p.name for p in places_in(sentence, frozenset({owner})) if len(p.name) > 2)
    return facts


def _referred_owner(sentence: str, named: Sequence[str]) -> str | None:
    """The place "该高新区" / "该县" points back to: the last one named before whose name ends the same way."""
    reference = _BACK_REFERENCE.search(sentence[:16])
    if reference is None:
        return None
    return next((place for place in reversed(named) if place.endswith(reference.group(1))), None)


def _sentence_facts(
    context: _ArticleContext,
    start: int,
    end: int,
    paragraph_owner: str | None,
    paragraph_period: PeriodReading | None,
) -> list[Fact]:
    sentence = context.article.text[start:end]
    figures = extract_figures(sentence)
    if not figures:
        return []
    clauses = [(m.start(), m.end()) for m in _CLAUSE.finditer(sentence)]
    section_year = next((year for at, year in reversed(context.headings) if at <= start), None)
    facts: list[Fact] = []
    previous: str | None = None
    for figure in figures:
        clause_start, clause_end = next(((s, e) for s, e in clauses if s <= figure.start < e), (0, len(sentence)))
        before = sentence[: figure.start]
        clause_before = sentence[clause_start : figure.start]
        measure = _measure(clause_before, figure)
        indicator, goal = _indicator(sentence, clause_start, clause_end, figure)
        if not indicator or (measure in ("growth", "change") and indicator in GROWTH_WORDS):
            # "…核心制造业增长平稳，同比均增长7.1%": the subject of the sentence's opening clause.
            indicator = previous or phrase_before(before_growth(words_of(sentence[:clause_start]))) or indicator
        previous = indicator or previous
        period = read_period(before, context.reference, section_year)
        if period.period is None and period.as_of is None:
            if paragraph_period is not None:
                period = paragraph_period
            elif section_year:
                period = PeriodReading(section_year, "", year=section_year)
        facts.append(
            Fact(
                id=hashlib.sha1(f"{context.article.id}:{start + figure.start}".encode()).hexdigest()[:16],
                article_id=context.article.id,
                source_file=context.article.source_file,
                value=float(figure.value),
                unit=figure.unit,
                text=figure.text,
                indicator=indicator,
                owner=_named_owner(context, before, measure == "rank")
                or paragraph_owner
                or context.local_owner
                or context.owner,
                period=period.period,
                period_text=period.text,
                as_of=period.as_of,
                kind="target" if goal else _kind(before, period, context.reference),
                measure=measure,
                flags=_flags(clause_before) + (("set_size",) if SET_MEMBER.search(sentence[:clause_end]) else ()),
                sentence=sentence,
                sentence_start=start,
                sentence_end=end,
                clause_start=start + clause_start,
                clause_end=start + clause_end,
                start=start + figure.start,
                end=start + figure.end,
            )
        )
    return facts


def _indicator(sentence: str, clause_start: int, clause_end: int, figure: Figure) -> tuple[str, bool]:
    """The phrase, and whether it names the figure a goal ("设定180亿元出口目标" -> 出口, True)."""
    words = words_of(sentence[clause_start : figure.start])
    before = phrase_before(before_growth(words) if figure.kind != "number" else words)
    following = sentence[figure.end : clause_end]
    # "…企业2462家、省科技型中小企业1148家": after 、 the next item begins, with its own figure.
    if (figure.unit[-1:] in CLASSIFIERS or not before) and not following.startswith(_LIST_JOINS):
        after = phrase_after(words_of(following))
        for goal in _GOAL_NOUNS:
            if len(after) > len(goal) and after.endswith(goal):
                return after.removesuffix(goal), True
        if after:
            return after, False
    return before or last_verb(words), False


def _leading_owner(context: _ArticleContext, sentence: str) -> str | None:
    """The place a sentence opens with, its subject: the next sentences of the paragraph go on about it."""
    places = places_in(sentence[:12], frozenset({context.owner}))
    place = subject(places)
    if place is None or places[0].start > 2:
        return None
    return owner_name(place.name, context.owner, context.local_owner, context.home_place)


def _named_owner(context: _ArticleContext, text: str, rank: bool = False) -> str | None:
    """The owner the text's first place stands for; a paragraph's later sentences keep talking about it."""
    places = places_in(text, frozenset({context.owner}))
    place = subject(ranked_places(places) if rank else places)
    if place is None:
        return None
    return owner_name(place.name, context.owner, context.local_owner, context.home_place)


def _kind(before: str, period: PeriodReading, reference: ReferenceDate | None) -> Kind:
    cue: Kind | None = None
    words = words_of(before)
    for n, word in enumerate(words):
        if word.text in TARGET_WORDS:
            if not _names_a_programme(words, n):
                cue = "target"
        elif word.text in FORECAST_WORDS:
            cue = "forecast"
        elif word.text in ACTUAL_WORDS:
            cue = "actual"
    if cue is not None:
        return cue
    if period.period is not None and has_ended(period.period, reference) is False:
        return "target"
    return "actual"


def _names_a_programme(words: Sequence[Word], n: int) -> bool:
    """计划/规划 that ends a name is a programme, not a plan: "实施…“鲲鹏计划”,…给予…500万元奖励",
    "推出“太湖工程师”专项计划,对…给予最高80万元", "“双百”计划均超额完成". A plan leads what is planned:
    "计划新增绿道44公里"."""
    if words[n].text not in _PROGRAMME_HEADS:
        return False
    after_quote = n > 0 and words[n - 1].text in _CLOSING_QUOTES
    before_punctuation = n + 1 < len(words) and words[n + 1].tag == "x"
    return after_quote or before_punctuation


def _measure(clause_before: str, figure: Figure) -> Measure:
    tail = clause_before[-8:]
    if figure.kind == "points":
        return "change"
    # 居 ranks ("居全国第30位"), 居民 and 居住 do not: "农村居民人均纯收入19044元" is an amount.
    if re.search(r"第$|排名|位列|居(?![民住家委])", tail) or (figure.unit in ("位", "名") and "第" in tail):
        return "rank"
    if figure.kind == "percent":
        if any(word in tail for word in GROWTH_WORDS):
            return "growth"
        if any(word in clause_before for word in SHARE_WORDS):
            return "share"
    return "level"


def _flags(clause_before: str) -> tuple[Flag, ...]:
    return tuple(flag for flag, words in FLAG_WORDS.items() if any(w in clause_before for w in words))
