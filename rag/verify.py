"""Check an answer before it is returned: every [n] names a given passage, every figure is in a passage its
sentence cites, and every claim cites something.

    v = verify_answer("全市规上工业增加值1324.9亿元，同比增长3%。[1]", ["全市实现规上工业增加值1324.9亿元，同比增长3%"])
    assert v.ok

What counts as a figure, and when two figures are the same:
- Full-width forms are folded (１２３ -> 123, ％ -> %); other compatibility forms (①, ㎡, …) are not, so a
  figure's span is the same in the text as written and in the folded text.
- A figure is a value and a kind: number, percent (3%, 百分之三, 三成) or percentage points (22.3个百分点). 万, 亿,
  千万, million, billion… multiply the value, so "1.2亿" equals "12000万" and "132.49 billion". A percent never
  equals a bare number. The measure word (元, 个, 家) is kept in `Figure.unit` but not compared, so "773 5G base
  stations" matches "建设5G基站773个".
- Not figures: years (2013年, a bare 19xx/20xx with no unit), months, days and times (5月底, 7月22日, 三月, July 22,
  10:30) -- they anchor a claim in time rather than count something, and news writes them too many ways (今年,
  去年) to match -- list item numbers, the [n] markers, and digits glued to Latin letters (5G, G60, MEMS2), which
  are names unless the letters are a known unit or ordinal suffix (2GWh, 46th).
- Chinese numerals count where they cannot be a word: a compound (二十六, 三千, 一千零七) or a single digit before a
  measure word (两个, 三项). 一 alone (一个, 统一, 第一) and digitless runs (百万, 千万) are not figures.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from rag.arithmetic import Computation, find_computations

FigureKind = Literal["number", "percent", "points"]
CitationProblem = Literal["out_of_range", "malformed"]


class Figure(BaseModel):
    """A figure found in a text: `text[start:end]` as written, its value with any 万/亿 applied, and its unit.

    >>> extract_figures("规上工业增加值1324.9亿元，同比增长3%")[0].value
    Decimal('132490000000')
    """

    model_config = ConfigDict(frozen=True)

    text: str
    start: int
    end: int
    value: Decimal
    kind: FigureKind = "number"
    unit: str = ""  # as written after the number: "%", "个百分点", "元", "个", "GWh"; multipliers are in `value`


class UnsupportedFigure(BaseModel):
    """A figure of the answer that no passage cited in its sentence contains."""

    model_config = ConfigDict(frozen=True)

    figure: str
    start: int
    sentence: str
    cited: list[int]


class InvalidCitation(BaseModel):
    """A citation marker that is not a canonical [n] for a given passage."""

    model_config = ConfigDict(frozen=True)

    marker: str
    start: int
    reason: CitationProblem


class Verification(BaseModel):
    model_config = ConfigDict(frozen=True)

    ok: bool
    unsupported_figures: list[UnsupportedFigure]
    invalid_citations: list[InvalidCitation]
    uncited_sentences: list[str]
    # equations written out in the answer ("94+40=134个"): a right one's result counts as supported when its
    # operands are in the passages its sentence cites
    computations: list[Computation] = []
    # figures whose cited row is a target, or another period's, where the question asks otherwise (rag.facts.cited)
    misread_figures: list[str] = []


# --- citation markers -------------------------------------------------------------------------------------------

_D = "0-9０-９"
_ITEM = rf"[{_D}]+(?:\s*[-–—~～]\s*[{_D}]+)?"
_ITEMS = rf"{_ITEM}(?:\s*[,，、;；]\s*{_ITEM})*"
_LABEL = (
    r"(?:\^|(?:passages?|sources?|refs?|references?|docs?|documents?|段落|文段|片段|来源|资料|文档|参考)\s*[:：]?\s*)?"
)
_MARKER = re.compile(
    rf"[\[［【〔〖]\s*{_LABEL}(?P<bracketed>{_ITEMS})\s*[\]］】〕〗]"
    # A number in parentheses cites only where a clause ends, so "(1) 建设…" stays a list item and "（2021）" a year.
    rf"|[(（]\s*{_LABEL}(?P<parenthesised>[{_D}]{{1,2}}(?:\s*[,，、]\s*[{_D}]{{1,2}})*)\s*[)）]"
    r"(?=[ \t]*(?:$|[\n。！？；;!?.,，、:：\[［【(（]))",
    re.IGNORECASE | re.MULTILINE,
)
_CANONICAL = re.compile(r"\[[1-9][0-9]*\]")
_LONGEST_RANGE = 20  # "[1-300]" is not a citation anyone meant


@dataclass(frozen=True)
class _Marker:
    start: int
    end: int
    text: str
    numbers: tuple[int, ...] | None  # None: unreadable, e.g. a reversed range "[3-1]"


def _markers(text: str) -> list[_Marker]:
    found = []
    for m in _MARKER.finditer(text):
        items = m.group("bracketed") or m.group("parenthesised")
        found.append(_Marker(m.start(), m.end(), m.group(), _numbers(items)))
    return found


def _numbers(items: str) -> tuple[int, ...] | None:
    numbers: list[int] = []
    for item in re.split(r"[,、;]", unicodedata.normalize("NFKC", items)):
        low, _, high = re.sub(r"[-–—~]", "-", item).partition("-")
        first, last = int(low), int(high or low)
        if not 0 <= last - first <= _LONGEST_RANGE:
            return None
        numbers.extend(range(first, last + 1))
    return tuple(dict.fromkeys(numbers))


def _problem(marker: _Marker, n_passages: int) -> CitationProblem | None:
    if marker.numbers is None:
        return "malformed"
    if not all(1 <= k <= n_passages for k in marker.numbers):
        return "out_of_range"
    return None if _CANONICAL.fullmatch(marker.text) else "malformed"


def repair_citations(answer: str, n_passages: int) -> str:
    """Rewrite each malformed marker whose passages all exist as canonical ones; leave the rest to be reported.

    >>> repair_citations("增长3%【1】，投资6672.4万元［1,2］。", 2)
    '增长3%[1]，投资6672.4万元[1][2]。'
    """

    def canonical(m: re.Match[str]) -> str:
        marker = _Marker(m.start(), m.end(), m.group(), _numbers(m.group("bracketed") or m.group("parenthesised")))
        if _problem(marker, n_passages) != "malformed" or marker.numbers is None:
            return marker.text
        return "".join(f"[{k}]" for k in marker.numbers)

    return _MARKER.sub(canonical, answer)


# --- figures ----------------------------------------------------------------------------------------------------

_MEASURES = "个项家名人位次条件座所台批类种届年天周倍户支场期轮部篇张处本份块栋幢辆套只株棵颗亩吨元岁层间村镇大"
_LONG_MEASURES = "个月|小时|分钟|平方公里|平方米|立方米|公里|千米|千瓦时|千瓦|公顷|美元|欧元|港元"
_UNIT = rf"(?P<unit>(?:余|多)?(?:{_LONG_MEASURES}|[{_MEASURES}]))"
_PERCENT = r"%|‰|个百分点|百分点|percentage points?(?![A-Za-z])|per ?cent(?![A-Za-z])"
_MULTIPLIERS = {
    "万": 10**4, "亿": 10**8, "万亿": 10**12, "百万": 10**6, "千万": 10**7, "百亿": 10**10, "千亿": 10**11,
    "千": 10**3, "百": 10**2, "thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12,
}  # fmt: skip
_LATIN_UNITS: dict[str, FigureKind] = {
    **dict.fromkeys(["km", "kg", "kW", "kWh", "MW", "MWh", "GW", "GWh", "TWh", "mm", "cm", "GB", "TB", "MB"], "number"),
    **dict.fromkeys(["st", "nd", "rd", "th", "ha"], "number"),
    "pp": "points",
}

# Python's \b counts CJK as word characters, so r"\b3\b" misses the 3 in "增长3%"; the edges are spelled out instead.
_ARABIC = re.compile(
    r"(?<![A-Za-z0-9_])(?<!\d[.,:])(?<![A-Za-z]-)"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![0-9])"
)
_ARABIC_SUFFIX = re.compile(
    r"(?:[ \t]*(?:余|多)?(?P<mult>万亿|[百千]?[万亿]|千(?![米克瓦伏帕卡焦兆])|百(?!分)"
    r"|(?<=[ \t])(?:thousand|million|billion|trillion)(?![A-Za-z])))?"
    rf"(?:[ \t]*(?P<kind>{_PERCENT})|[ \t]*{_UNIT})?",
    re.IGNORECASE,
)
_CN_DIGITS = {**{ch: i for i, ch in enumerate("零一二三四五六七八九")}, "〇": 0, "两": 2}
_CN_POWERS = {"十": 10, "百": 100, "千": 1000}
_CN_RUN = "零〇一二两三四五六七八九十百千万亿"
_CHINESE = re.compile(
    rf"(?<![{_CN_RUN}])(?P<pct>百分之)?(?P<int>[{_CN_RUN}]+)(?:点(?P<dec>[零〇一二三四五六七八九]+))?(?P<mult>万亿|[万亿])?"
)
_CHINESE_SUFFIX = re.compile(rf"(?P<kind>%|个百分点|百分点|成)?{_UNIT}?")
_LIST_ITEM = re.compile(
    r"^[ \t>*#-]*\(?\d{1,2}[.、)](?!\d)|(?<=\s)\d{1,2}\.(?=[ \t]+[\u3400-\u9fff“\"])",
    re.MULTILINE,
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_MONTH_BEFORE = re.compile(rf"\b{_MONTH}\s+$", re.IGNORECASE)
_MONTH_AFTER = re.compile(rf"(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?![a-z])", re.IGNORECASE)
_YEAR = re.compile(r"(?:19|20)\d\d")
_DATE = re.compile(r"(?<!\d)(?:19|20)\d\d([-/.])\d{1,2}\1\d{1,2}(?!\d)")  # 2025-09-03
_TIME_OR_MONTH = re.compile(r":\d\d|时|点(?:\d{1,2}分|半|钟)|\s*(?:至|到|-|—|–|~)\s*\d{1,2}月")  # 10:30, 7时, 1至5月


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    value: Decimal
    kind: FigureKind
    unit: str
    scale: int  # the multiplier already in `value`: 10**4 for 万
    bare: bool  # no multiplier and no percent sign of its own: "3" in "3至5万元" takes 万 from the 5


def extract_figures(text: str) -> list[Figure]:
    """The figures of `text` in order, with offsets into `text` as given.

    >>> [(f.text, f.value, f.kind) for f in extract_figures("建设5G基站773个，增长3%")]
    [('773个', Decimal('773'), 'number'), ('3%', Decimal('3'), 'percent')]
    """
    folded = _fold(text, _markers(text))
    for blank in (_LIST_ITEM, _DATE):
        folded = blank.sub(lambda m: " " * len(m.group()), folded)
    found = [f for m in _ARABIC.finditer(folded) if (f := _arabic(folded, m))]
    found += [f for m in _CHINESE.finditer(folded) if (f := _chinese(folded, m))]
    return [
        Figure(text=text[f.start : f.end], start=f.start, end=f.end, value=_plain(f.value), kind=f.kind, unit=f.unit)
        for f in _shared_units(folded, _without_overlaps(found))
    ]


def _fold(text: str, markers: Sequence[_Marker]) -> str:
    """Full-width and no-break forms folded to ASCII, markers blanked; one character for one, so offsets hold."""
    chars = [unicodedata.normalize("NFKC", ch) if _foldable(ch) else ch for ch in text]
    for m in markers:
        chars[m.start : m.end] = " " * (m.end - m.start)
    return "".join(ch if len(ch) == 1 else " " for ch in chars)


def _foldable(ch: str) -> bool:
    # "，" stays: folded to "," it would glue "增长3，500家企业" into 3,500.
    return ch != "，" and unicodedata.decomposition(ch).startswith(("<wide>", "<narrow>", "<noBreak>"))


def _arabic(text: str, m: re.Match[str]) -> _Found | None:
    num, end = m.group("num"), m.end()
    after = text[end : end + 3]
    whole = "." not in num and "," not in num
    if whole and (
        (after.startswith("月") and 1 <= int(num) <= 12)
        or (after[:1] in ("日", "号") and 1 <= int(num) <= 31)
        or (text[: m.start()].rstrip()[-1:] in ("时", "点") and after.startswith("分"))
        or _TIME_OR_MONTH.match(text, end)
    ):
        return None
    if _MONTH_BEFORE.search(text[max(0, m.start() - 12) : m.start()]) or _MONTH_AFTER.match(text, end):
        return None
    value = Decimal(num.replace(",", ""))
    latin = re.match(r"[A-Za-z]+", text[end:])
    if latin:  # "5G", "4K" are names; "2GWh", "46th" are figures
        word = latin.group()
        if word not in _LATIN_UNITS or text[end + len(word) : end + len(word) + 1].isdigit():
            return None
        return _Found(m.start(), end + len(word), value, _LATIN_UNITS[word], word, 1, bare=False)
    suffix = _ARABIC_SUFFIX.match(text, end)
    assert suffix is not None  # every part of the suffix is optional
    mult, kind, unit = suffix.group("mult"), suffix.group("kind"), suffix.group("unit") or ""
    if whole and _YEAR.fullmatch(num) and not mult and not kind and unit in ("", "年"):
        return None
    scale = _MULTIPLIERS[mult.lower()] if mult else 1
    end = suffix.end() if (mult or kind or unit) else end
    if kind == "‰":  # 2.2‰ = 0.22%
        value /= 10
    return _Found(m.start(), end, value * scale, _kind(kind), kind or unit, scale, bare=not (mult or kind))


def _chinese(text: str, m: re.Match[str]) -> _Found | None:
    digits, decimals, mult, percent_word = m.group("int"), m.group("dec"), m.group("mult"), m.group("pct")
    integer = _chinese_integer(digits)
    if integer is None or text[m.end() : m.end() + 1] in ("月", "日", "号"):
        return None  # 三月, 二十六日: dates, not figures
    if digits.startswith("十") and text[m.start() - 1 : m.start()] in ("几", "数"):
        return None  # 几十万, 数十家: no value to check
    suffix = _CHINESE_SUFFIX.match(text, m.end())
    assert suffix is not None
    kind, unit = suffix.group("kind"), suffix.group("unit") or ""
    compound = any(c in _CN_DIGITS for c in digits) and any(c in _CN_POWERS or c in "万亿" for c in digits)
    if digits == "一" and not (decimals or percent_word):
        return None  # 一个, 统一, 第一, 一体化: a word far more often than a count
    if not (compound or decimals or percent_word or kind or unit):
        return None
    value = Decimal(f"{integer}.{''.join(str(_CN_DIGITS[c]) for c in decimals)}" if decimals else integer)
    trailing = mult or next((x for x in ("万亿", "亿", "万") if digits.endswith(x) and len(digits) > len(x)), "")
    scale = _MULTIPLIERS[trailing] if trailing else 1
    if mult:
        value *= scale
    if kind == "成":  # 三成 = 30%
        value, scale, kind = value * 10, 10, "%"
    end = suffix.end() if (kind or unit) else m.end()
    if percent_word:  # 百分之三十
        return _Found(m.start(), end, value, "percent", percent_word, scale, bare=False)
    return _Found(m.start(), end, value, _kind(kind), kind or unit, scale, bare=not (trailing or kind))


def _kind(marker: str | None) -> FigureKind:
    if not marker:
        return "number"
    return "points" if "点" in marker or "point" in marker.lower() else "percent"


def _chinese_integer(text: str) -> int | None:
    """二十六 -> 26, 一千零七 -> 1007, 三千万 -> 30000000; None for what is not one number (十四五, 三四, 百万)."""
    for large, scale in (("亿", 10**8), ("万", 10**4)):
        if large in text:
            high, _, low = text.partition(large)
            head = _chinese_integer(high) if high else None
            if head is None:
                return None
            if len(low) == 1 and low in _CN_DIGITS and low not in "零〇":  # 一万二 = 12000
                return head * scale + _CN_DIGITS[low] * scale // 10
            tail = _chinese_integer(low.removeprefix("零")) if low else 0
            return None if tail is None else head * scale + tail
    total, pending, last_power, after_zero = 0, None, 10**4, False
    for i, ch in enumerate(text):
        if ch in "零〇":
            if pending is not None or i == 0:
                return None
            after_zero = True
        elif ch in _CN_DIGITS:
            if pending is not None:
                return None
            pending = _CN_DIGITS[ch]
        elif ch in _CN_POWERS:
            power = _CN_POWERS[ch]
            if power >= last_power or (pending is None and not (ch == "十" and i == 0)):
                return None
            total, pending, last_power, after_zero = total + (pending or 1) * power, None, power, False
        else:
            return None
    if pending is None:
        return total if text else None
    if total == 0 or last_power == 10 or after_zero:
        return total + pending
    return total + pending * last_power // 10  # 三千五 = 3500


def _without_overlaps(found: list[_Found]) -> list[_Found]:
    kept: list[_Found] = []
    for f in sorted(found, key=lambda f: (f.start, -f.end)):
        if not kept or f.start >= kept[-1].end:
            kept.append(f)
    return kept


_JOINED = re.compile(r"\s*(?:和|与|及|、|至|到|或|-|~|—|–|and|to|or)\s*", re.IGNORECASE)


def _shared_units(text: str, found: list[_Found]) -> list[_Found]:
    """A bare figure joined to the next takes its multiplier and kind.

    "3至5万元" is 3万 to 5万, and "提高1.5个和0.3个百分点" is two figures in percentage points.
    """
    shared = list(found)
    for i in range(len(shared) - 2, -1, -1):
        first, second = shared[i], shared[i + 1]
        if not (first.bare and not second.bare and _JOINED.fullmatch(text, first.end, second.start)):
            continue
        if first.unit not in ("", "个") or (first.unit == "个" and second.kind != "points"):
            continue
        shared[i] = replace(first, value=first.value * second.scale, scale=second.scale, kind=second.kind, bare=False)
    return shared


def _plain(value: Decimal) -> Decimal:
    whole = value.to_integral_value()
    return whole if value == whole else value.normalize()


# --- sentences and claims ---------------------------------------------------------------------------------------

_STOP = re.compile(r"[。！？；!?;]+|\.(?=\s|$|[\[［【(（])|\n")
_CLOSERS = "”’」』\"')）"
_NON_ANSWERS = (
    "没有找到", "未找到", "未提及", "没有提及", "没有提到", "未提到", "未涉及", "没有涉及", "没有相关", "无相关",
    "无法回答", "无法确定", "无法从", "不包含", "没有包含", "未包含", "没有说明", "未说明", "没有明确", "未明确",
    "not in the corpus", "does not say", "doesn't say", "do not say", "don't say", "not mentioned", "no information",
    "not found", "cannot find", "can't find", "could not find", "couldn't find", "does not mention",
    "doesn't mention", "do not mention", "don't mention", "not covered", "none of the passages", "cannot answer",
    "unable to answer", "does not contain", "do not contain", "doesn't contain", "don't contain",
)  # fmt: skip
_MIN_CLAIM_SIZE = 6  # Han characters plus Latin words: "综上所述" and "In short:" are connectives, not claims


def _sentences(text: str, markers: Sequence[_Marker]) -> list[tuple[int, int]]:
    """[start, end) of each sentence; markers after its closing punctuation stay with it ("增长3%。[1]")."""
    inside = bytearray(len(text))
    starts = {m.start: m for m in markers}
    for m in markers:
        inside[m.start : m.end] = b"\x01" * (m.end - m.start)
    spans: list[tuple[int, int]] = []
    start = 0
    for stop in _STOP.finditer(text):
        if stop.start() < start or inside[stop.start()]:
            continue
        end = stop.end()
        if stop.group() != "\n":
            while end < len(text) and text[end] in _CLOSERS:
                end += 1
            while (after := len(text) - len(text[end:].lstrip(" \t\u3000"))) in starts:
                end = starts[after].end
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    sentences: list[tuple[int, int]] = []
    for s, e in spans:
        piece = text[s:e]
        if not piece.strip():
            continue
        s, e = s + len(piece) - len(piece.lstrip()), e - len(piece) + len(piece.rstrip())
        if sentences and not re.search(r"\w", _MARKER.sub("", text[s:e])):
            sentences[-1] = (sentences[-1][0], e)  # a line of markers cites the sentence before it
        else:
            sentences.append((s, e))
    return sentences


def _is_claim(sentence: str) -> bool:
    bare = sentence.strip().rstrip(" \t*_")
    lowered = bare.lower()
    if bare.startswith("#") or bare.endswith((":", "：")) or any(p in lowered for p in _NON_ANSWERS):
        return False
    return len(re.findall(r"[\u3400-\u9fff]|[A-Za-z0-9]+", bare)) >= _MIN_CLAIM_SIZE


# --- what makes an answer unfit to show ---------------------------------------------------------------------


def rejection_reason(verification: Verification, n_cited: int, echoed: bool) -> str | None:
    """Why an answer may not be shown as the answer, or None: a claim with no citation at all, a figure that no
    cited passage holds, a citation of a passage that was not given, or the prompt's own blocks echoed back. An
    answer whose figures all check out but which leaves a sentence uncited is shown, flagged."""
    problems: list[str] = []
    if echoed:
        problems.append("echoed the prompt's passage blocks")
    if n_cited == 0 and (verification.unsupported_figures or verification.uncited_sentences):
        problems.append("cited nothing")
    if n := len(verification.unsupported_figures):
        where = "the passages it cites" if n_cited else "the passages"
        problems.append(f"stated {n} figure{'s' if n > 1 else ''} not in {where}")
    if verification.misread_figures:
        problems.append(f"gave {'; '.join(verification.misread_figures)}")
    if wrong := [c.expression for c in verification.computations if not c.correct]:
        problems.append(f"computed {', '.join(wrong)} wrongly")
    if n := len(verification.invalid_citations):
        problems.append(f"cited {n} passage{'s' if n > 1 else ''} that were not given")
    if not problems:
        return None
    listed = problems[0] if len(problems) == 1 else ", ".join(problems[:-1]) + " and " + problems[-1]
    return f"the LLM's answer {listed}"


# --- the check --------------------------------------------------------------------------------------------------


def verify_answer(answer: str, passages: Sequence[str]) -> Verification:
    """Check `answer` against `passages`, where passages[0] is cited as [1].

    Markers that are malformed but name given passages ("【1】") still count for the figure check, and are reported
    so the caller runs `repair_citations` first.
    """
    markers = _markers(answer)
    invalid = [
        InvalidCitation(marker=m.text, start=m.start, reason=problem)
        for m in markers
        if (problem := _problem(m, len(passages)))
    ]
    figures = extract_figures(answer)
    computations = find_computations(answer, figures)
    facts: dict[int, set[tuple[Decimal, FigureKind]]] = {}
    unsupported: list[UnsupportedFigure] = []
    uncited: list[str] = []
    for start, end in _sentences(answer, markers):
        sentence = answer[start:end]
        cites = [m for m in markers if start <= m.start < end]
        cited = sorted({k for m in cites for k in m.numbers or () if 1 <= k <= len(passages)})
        for k in cited:
            if k not in facts:
                facts[k] = {(f.value, f.kind) for f in extract_figures(passages[k - 1])}
        known = set().union(*(facts[k] for k in cited))
        claimed = [f for f in figures if start <= f.start < end]
        computed = _computed_results(claimed, [c for c in computations if start <= c.start < end], known)
        unsupported += [
            UnsupportedFigure(figure=f.text, start=f.start, sentence=sentence, cited=cited)
            for f in claimed
            if (f.value, f.kind) not in known and f.start not in computed
        ]
        if not cites and (claimed or _is_claim(sentence)):
            uncited.append(sentence)
    return Verification(
        ok=not (unsupported or invalid or uncited) and all(c.correct for c in computations),
        unsupported_figures=unsupported,
        invalid_citations=invalid,
        uncited_sentences=uncited,
        computations=computations,
    )


def _computed_results(
    claimed: Sequence[Figure], computations: Sequence[Computation], known: set[tuple[Decimal, FigureKind]]
) -> set[int]:
    """Where the sentence's right computations put their results, when every operand is a cited figure."""
    supported: set[int] = set()
    for computation in computations:
        operands = [f for f in claimed if computation.start <= f.start < computation.result_start]
        if computation.correct and all((f.value, f.kind) in known for f in operands):
            supported.add(computation.result_start)
    return supported
