"""A question read as what it asks, in the slots of the figures table.

    frame = read_question("去年湖州规上工业增加值是多少？同比增长多少？", home_place="湖州")
    frame.indicator, frame.owner, frame.period, frame.kind   # "规上工业增加值", "湖州", "Y-1", "actual"
    frame.parts[1].measure, frame.parts[1].indicator          # "growth", "规上工业增加值"

Each clause that asks for a figure (多少, 几个…) is a part. What it counts is the noun phrase after the asking word
("多少存量建设用地"), else the one before it ("规上工业增加值是多少"). A clause that names no time, kind or thing of
its own goes on about the clause before it ("…打算新增多少辆公交车？调整优化几条公交线路？" asks two 2014
plans). A clause that asks for the difference or the sum of the figures before it (还差多少, 多出多少, 合计, 两年
加起来) makes the question's operation, not a part of its own. One clause that asks about two things ("A比B多多少",
"A和B一共多少", "X中非Y有多少") is two parts and the operation between them (rag.facts.pairs).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from rag.facts.models import Flag, Frame, Kind, Measure, Operation
from rag.facts.owners import owner_name, places_in, ranked_places, subject
from rag.facts.pairs import SUM_WORDS, split_pair
from rag.facts.periods import ReferenceDate, read_period
from rag.facts.phrases import (
    CLASSIFIERS,
    FLAG_WORDS,
    FORECAST_WORDS,
    GROWTH_WORDS,
    SHARE_WORDS,
    TARGET_WORDS,
    Word,
    before_growth,
    last_verb,
    phrase_after,
    phrase_before,
    words_of,
)
from rag.verify import extract_figures

_UNIT_ASKED = re.compile(
    r"(?:万|亿|万亿)?(?:元|美元|公里|千米|平方米|平方公里|亩|吨|千瓦时|辆|%)|[个项家所位条座名批种户件台只]"
)
_CLAUSES = re.compile(r"[^，,；;？?！!。]+")
_ASKING = re.compile(r"多少|多大|多长|多高|多远|几(?=[个项家所位条年名座辆批种次户件万亿百千十倍])|几$")
_QUOTED = re.compile(r"[“\"「『]([^”\"」』]{2,12})[”\"」』]")
_NOT_A_FIGURE = re.compile(r"哪|什么|谁|怎样|怎么|如何|为何|为什么|是否")
_DIFFERENCE = re.compile(r"差多少|多出|少了?多少|多了?多少|相差|差距|还差|增加了多少(?=.*比)")
_RATIO = re.compile(r"几倍|多少倍|占.{0,8}(?:比例|比重|多少)")
_RANK = re.compile(r"第几|排名|排第|位次")
_LIST = re.compile(r"哪些|分别|各")
_EXPLICIT_TARGET = re.compile(r"计划|目标|打算|力争|预期|争取")  # 要, 拟 only as words: not 主要, 模拟
_EXPLICIT_ACTUAL = re.compile(r"实际|已经|已|完成了|目前")
_LATIN = re.compile(r"[A-Za-z]")
_CJK = re.compile(r"[\u3400-\u9fff]")
_ENGLISH_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
_ENGLISH_TARGET = re.compile(r"\b(?:plan|plans|planned|target|targets|aim|aims|goal)\b", re.IGNORECASE)


def read_question(
    question: str,
    home_place: str,
    reference_date: ReferenceDate | None = None,
    known_places: Sequence[str] = (),
) -> Frame:
    """The frame of a question; `known_places` (the index's papers' cities) are recognised whatever jieba tags them."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", question))
    if len(_LATIN.findall(text)) > len(_CJK.findall(text)):
        return _english(question, home_place)
    owner, within = _owner(text, home_place, frozenset(known_places))
    parts: list[Frame] = []
    operation: Operation = "value"
    previous_clause = plain = ""
    for found in _CLAUSES.finditer(text):
        clause = found.group()
        if _DIFFERENCE.search(clause) and parts:
            operation = "difference"
            continue
        if SUM_WORDS.search(clause) and parts:
            operation = "sum"
            continue
        if not _ASKING.search(clause):
            plain = clause
            continue
        pair = split_pair(clause, plain)
        for piece in pair.clauses if pair else (clause,):
            previous = parts[-1] if parts else None
            # Each of a pair names its own thing when it names one: "省级绿道" after "城乡绿道" is not the same.
            said_before = "" if pair else previous_clause
            part = _part(question, piece, owner, previous, said_before, reference_date, text, found.start())
            parts.append(part.model_copy(update={"owner_within": within}))
            previous_clause = piece
        operation = pair.operation if pair else operation
        plain = ""
    if not parts:
        return Frame(question=question, indicator=None, owner=owner, owner_within=within, wants_figure=False)
    if operation == "value":
        operation = _operation(text, len(parts))
    first = parts[0]
    return first.model_copy(
        update={"question": question, "operation": operation, "n_figures": len(parts), "parts": tuple(parts)}
    )


def _part(
    question: str,
    clause: str,
    owner: str,
    previous: Frame | None,
    previous_clause: str,
    reference: ReferenceDate | None,
    text: str,
    at: int,
) -> Frame:
    """One asked figure; `clause` may be one the question's clause was split into (rag.facts.pairs), `at` is where
    the question's clause starts: the time said before it is its time."""
    asking = _ASKING.search(clause)
    assert asking is not None
    rest = clause[asking.end() :]
    rest = rest[1:] if rest[:1] in CLASSIFIERS else rest  # "多少项国家…技术": jieba would glue 项 to 国家
    before, after = _without_cue_tail(words_of(clause[: asking.start()])), words_of(rest)
    thing_after = phrase_after(after)
    indicator = (thing_after if len(thing_after) > 1 else "") or phrase_before(before_growth(before))
    verbs: tuple[str, ...] = ()
    if not indicator and before and before[-1].tag.startswith("v"):  # "农村公路大中修多少公里": the object of 修
        verbs = (before[-1].text,)
        indicator = phrase_before(before[:-1])
    # "2014年计划盘活多少？" after "2013年盘活了多少存量建设用地？": the same thing, asked again.
    own_thing = bool(indicator) and not (previous_clause and _strip_cues(indicator) in previous_clause)
    indicator = indicator or last_verb(before)
    reading = read_period(clause, reference)
    if reading.period is None and reading.as_of is None:
        reading = read_period(text[:at], reference) if previous is None else reading
    kind = _kind(clause)
    measure = _measure(clause, clause[: asking.start()], indicator)
    continues = previous is not None and reading.text == "" and kind is None
    if previous is not None and (not own_thing or indicator in GROWTH_WORDS):
        indicator = previous.indicator or indicator
    return Frame(
        question=question,
        indicator=indicator or None,
        qualifiers=_qualifiers(before + after, indicator) + tuple(v for v in verbs if len(v) > 1),
        owner=owner,
        period=previous.period if continues and previous else reading.period or reading.as_of,
        period_text=previous.period_text if continues and previous else reading.text,
        kind=kind or (previous.kind if continues and previous else "actual"),
        measure=measure,
        flags=_flags(clause),
        unit=_asked_unit(clause[asking.end() :]),
        names=tuple(_QUOTED.findall(text)),
        clause=clause,
        anchors=_anchors(text),
    )


def _without_cue_tail(words: list[Word]) -> list[Word]:
    """ "实到外资的目标" names 外资: a kind word after the thing says what kind of figure is asked (read from the
    clause by `_kind`), not what it counts."""
    end = len(words)
    while end > 1 and (words[end - 1].text in TARGET_WORDS or words[end - 1].text in FORECAST_WORDS):
        end -= 1
        end -= words[end - 1].text == "的"
    return words[:end]


def _asked_unit(after_asking: str) -> str:
    """ "多少亿元" -> 亿元, "几个" -> 个, "多少座5G工厂" -> 座; "" when the question gives none."""
    unit = _UNIT_ASKED.match(after_asking)
    return unit.group() if unit else ""


def _anchors(text: str) -> tuple[float, ...]:
    """Figures the question quotes from a text ("享受贴息的171户"), in digits; "两年" counts nothing asked."""
    return tuple(float(f.value) for f in extract_figures(text) if f.text[:1].isdigit())


def _strip_cues(indicator: str) -> str:
    for cue in TARGET_WORDS:
        indicator = indicator.removeprefix(cue)
    return indicator


def _owner(text: str, home_place: str, known: frozenset[str]) -> tuple[str, str | None]:
    """The owner asked about, and the city the question puts it in ("湖州肥西县…" -> 肥西县, 湖州)."""
    places = places_in(text, known | {home_place})
    place = subject(ranked_places(places, in_question=True) if _RANK.search(text) else places)
    if place is None:
        return home_place, None
    owner = owner_name(place.name, home_place, None, home_place) or home_place
    cities = [owner_name(p.name, home_place, None, home_place) for p in places if p is not place]
    within = next((city for city in cities if city and city != owner and city in known | {home_place}), None)
    return owner, within


def _kind(clause: str) -> Kind | None:
    if _EXPLICIT_ACTUAL.search(clause):
        return "actual"
    words = {w.text for w in words_of(clause)}
    if words & FORECAST_WORDS:
        return "forecast"
    if words & TARGET_WORDS or _EXPLICIT_TARGET.search(clause):
        return "target"
    return None


def _measure(clause: str, before_asking: str, indicator: str) -> Measure:
    if "百分点" in clause:
        return "change"
    if _RANK.search(clause):
        return "rank"
    if any(word in clause for word in ("增速", "增幅")) or indicator in GROWTH_WORDS:
        return "growth"
    if re.search(f"(?:{'|'.join(GROWTH_WORDS)})了?$", before_asking):
        return "growth"
    if any(word in indicator for word in SHARE_WORDS if len(word) > 1):
        return "share"
    return "level"


def _flags(clause: str) -> tuple[Flag, ...]:
    flags = tuple(flag for flag, words in FLAG_WORDS.items() if any(w in clause for w in words))
    return (*flags, "set_size") if "之一" in clause else flags


def _qualifiers(words: Sequence[Word], indicator: str) -> tuple[str, ...]:
    """The clause's other nouns, which the row's sentence should name too: 品牌贷 in "“品牌贷”…发放了多少贷款"."""
    found = []
    for word in words:
        if len(word.text) < 2 or word.text in indicator or word.tag not in ("n", "nz", "vn", "j", "l", "eng", "nt"):
            continue
        if word.text in TARGET_WORDS or word.text in GROWTH_WORDS or word.text in ("实际", "同比", "一共"):
            continue
        if places_in(word.text):
            continue
        found.append(word.text)
    return tuple(dict.fromkeys(found))


def _operation(text: str, n_parts: int) -> Operation:
    if _RATIO.search(text):
        return "ratio"
    if _RANK.search(text):
        return "rank"
    if SUM_WORDS.search(text) and n_parts > 1:
        return "sum"
    if _LIST.search(text) and not _NOT_A_FIGURE.search(text):
        return "list"
    return "value"


def _english(question: str, home_place: str) -> Frame:
    """English questions: the indicator waits for a term mapping (rag.lexicon); years and plans are read here."""
    years = _ENGLISH_YEAR.findall(question)
    kind: Kind = "target" if _ENGLISH_TARGET.search(question) else "actual"
    wants = bool(re.search(r"\bhow (?:many|much)\b|\bwhat (?:percentage|share|number|was|is)\b", question, re.I))
    return Frame(
        question=question,
        indicator=None,
        owner=home_place,
        period=years[-1] if years else None,
        period_text=years[-1] if years else "",
        kind=kind,
        wants_figure=wants,
    )
