"""A frame against the figures table: the rows that answer it, what nearly did, and why not, for people.

    result = match(read_question("安吉开发区上半年实际出口了多少亿元？", "湖州"), index.facts())
    result.answered, result.reason   # False, "语料给出了自营出口总额的目标180亿元，没有给出实际完成额"

A row answers a part of the frame when it fits all its slots:
- indicator: what the row measures shares enough of the asked phrase, each character weighted by how rare it is
  among the table's indicators (so "5G用户数" is not "5G基站"): its characters in the row's indicator, or its
  character pairs in the row's clause; the other nouns of the question ("品牌贷") count in the row's sentence,
  its article's title and the sentence before;
- owner: the same place or organisation, or a short form of it (rag.facts.owners.owners_fit);
- period: the same period or one inside it ("2013" holds "2013-12"); a row with no period fits a question that
  names no year;
- kind: an actual for an actual, a target or forecast for a target; credit granted (授信) is not money paid
  out (发放);
- measure: a level for a level, a growth rate for a growth rate.
A question that puts a place in a city it is not in ("湖州肥西县…": 肥西 is Hefei's, by CC-CEDICT) is refused
before any row is looked at.
A row that fits the indicator but fails one or two of the other slots is a near miss; the first near miss of
the best-fitting row says which slot no row fills.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rag.answerability import mentions
from rag.evidence import AMOUNT_SUFFIX
from rag.facts.models import Fact, FactMatch, Frame, NearMiss, Slot
from rag.facts.owners import owners_fit, parent_place
from rag.facts.phrases import words_of
from rag.models import Article
from rag.verify import extract_figures

INDICATOR_FIT = 0.6  # weighted share of the asked phrase's characters a row must hold
QUALIFIER_WEIGHT = 0.5  # how much the question's other nouns, found in the row's sentence, count
HEAD_CREDIT = 0.8  # a row that holds only the head of the phrase asked
HEAD_WORDS = 2
NEAR_INDICATOR = 0.34  # below this a row is not about the thing asked at all
CONTEXT_CHARS = 150  # of text before a row's sentence that may name its subject
_REASON_ORDER: tuple[Slot, ...] = ("kind", "owner", "period", "measure", "indicator")
_KIND_WORDS = {"actual": "实际数", "target": "目标", "forecast": "预计数"}
_MEASURE_WORDS = {"level": "总量", "growth": "增速", "share": "占比", "rank": "排名", "change": "变化幅度"}


@dataclass(frozen=True)
class _Scored:
    fact: Fact
    indicator: float
    failed: tuple[Slot, ...]
    closeness: float = 0.0


def match(
    frame: Frame,
    facts: Sequence[Fact],
    articles: Mapping[str, Article] | None = None,
    weights: Mapping[str, float] | None = None,
) -> FactMatch:
    """Match every part of `frame` against `facts`; `articles` (by id) give each row the title and the sentence
    before it ("吴兴区湖东街道…项目现场。项目总建筑面积约4400平方米"). The match is answered when every part
    has a row; sums, differences and ratios are computed."""
    if not frame.wants_figure:
        return FactMatch(frame=frame, answers=())
    parent = parent_place(frame.owner)
    if frame.owner_within and parent and parent != frame.owner_within:
        within = frame.owner_within
        reason = f"{frame.owner}属于{parent}，不在{within}；语料没有给出{within}{frame.owner}的数字"
        return FactMatch(frame=frame, answers=(), reason=reason)
    weights = weights if weights is not None else character_weights(facts)
    answers: list[Fact] = []
    misses: list[NearMiss] = []
    reason = ""
    for part in frame.parts or (frame,):
        scored = _score(part, facts, weights, articles or {})
        fitting = sorted((s for s in scored if not s.failed), key=lambda s: _after_earlier(s, answers))  # stable
        if fitting:
            answers.append(fitting[0].fact)
            continue
        # The nearest miss is about the thing asked and fails elsewhere: that slot is the one to name.
        near = sorted(
            (s for s in scored if s.failed and s.indicator >= NEAR_INDICATOR),
            key=lambda s: ("indicator" in s.failed, len(s.failed), -round(s.indicator, 1), -s.closeness),
        )
        misses.extend(NearMiss(fact=s.fact, failed=s.failed) for s in near[:5])
        reason = reason or _reason(part, near[0] if near else None)
    if reason:
        return FactMatch(frame=frame, answers=(), near_misses=tuple(misses), reason=reason, found=tuple(answers))
    computed, arithmetic = _compute(frame, answers)
    operands = tuple(answers) if computed is not None else ()
    return FactMatch(frame=frame, answers=tuple(answers), operands=operands, computed=computed, arithmetic=arithmetic)


def _score(
    part: Frame, facts: Sequence[Fact], weights: Mapping[str, float], articles: Mapping[str, Article]
) -> list[_Scored]:
    scored = []
    for fact in facts:
        title = _context(fact, articles.get(fact.article_id))
        indicator = _indicator_fit(part, fact, weights, title)
        credit_for_loans = "disbursed" in part.flags and "credit" in fact.flags
        if credit_for_loans:
            indicator = max(indicator, INDICATOR_FIT)  # a credit line is the nearest thing to a loan paid out
        if indicator < NEAR_INDICATOR:
            continue
        failed: list[Slot] = [] if indicator >= INDICATOR_FIT else ["indicator"]
        if not all(name in fact.sentence or name in title for name in part.names):
            failed.append("indicator")
        if not (credit_for_loans or _holds_head(part, fact)):
            failed.append("indicator")
        if "set_size" in fact.flags and "set_size" not in part.flags:
            failed.append("indicator")  # "属于国家35项…技术之一" counts the set, not what the subject holds
        if not (owners_fit(part.owner, fact.owner) or mentions(fact.sentence + title, part.owner)):
            failed.append("owner")
        if not _period_fits(part, fact):
            failed.append("period")
        if not _kind_fits(part, fact):
            failed.append("kind")
        if not _measure_fits(part, fact) or not _unit_fits(part, fact):
            failed.append("measure")
        if part.anchors and not _holds_anchors(part, fact):
            failed.append("indicator")
        # Ties go to the row that names little else besides, then to the clause that reads most like the question's.
        closeness = round(_share(fact.indicator, part.indicator or "", weights), 1)
        closeness += _share(part.clause, _clause(fact), weights) / 100
        scored.append(_Scored(fact, indicator, tuple(dict.fromkeys(failed)), closeness))
    # Among rows about as close, a running total when the question asks for one (累计), not one case of it; and
    # one that states its period beats one that leaves it to the article.
    dated = part.period is not None
    total = "cumulative" in part.flags
    return sorted(
        scored,
        key=lambda s: (
            len(s.failed),
            -(total and "cumulative" in s.fact.flags),
            -round(s.indicator, 1),
            -(dated and s.fact.period is not None),
            -s.closeness,
        ),
    )


def _context(fact: Fact, article: Article | None) -> str:
    """The article's title and the text just before the row's sentence: where its subject was named."""
    if article is None:
        return ""
    return f"{article.title}\n{article.text[max(0, fact.sentence_start - CONTEXT_CHARS) : fact.sentence_start]}"


def _after_earlier(scored: _Scored, earlier: Sequence[Fact]) -> tuple[bool, int]:
    """The order among fitting rows for a later part of a question: not a row an earlier part took, then near
    the rows it took (same sentence, same article), then the best fitting."""
    used = any(scored.fact.id == f.id for f in earlier)
    near = 0
    if any(scored.fact.sentence_start == f.sentence_start and scored.fact.article_id == f.article_id for f in earlier):
        near = 2
    elif any(scored.fact.article_id == f.article_id for f in earlier):
        near = 1
    return (used, -near)


def _unit_fits(part: Frame, fact: Fact) -> bool:
    """ "几个" is not answered by an amount in 亿元; "多少亿元" is answered by one in 万元 or 亿元."""
    if not part.unit:
        return True
    asked, found = part.unit.lstrip("万亿"), fact.unit.lstrip("余多万亿")
    if not found:  # a bare number ("1000万", a lost classifier) is not what "几个" or "多少亿元" asks
        return not asked
    return asked == found or asked in found or found in asked


def _holds_head(part: Frame, fact: Fact) -> bool:
    """The last word of the phrase asked names the kind of thing counted, and a row must hold it: "海外仓" is not
    answered by "6个海外招商联络处", though most of its weight is in 海外; "5G基站" not by "5G用户"."""
    if not part.indicator:
        return True
    words = words_of(AMOUNT_SUFFIX.sub("", part.indicator) or part.indicator)
    head = words[-1].text if words else ""
    return not head or head in fact.indicator or head in _clause(fact)


def _holds_anchors(part: Frame, fact: Fact) -> bool:
    """A question that states a figure ("享受贴息的171户…") asks about the sentence that holds it."""
    stated = {float(f.value) for f in extract_figures(fact.sentence)}
    return all(anchor in stated for anchor in part.anchors)


def _indicator_fit(part: Frame, fact: Fact, weights: Mapping[str, float], context: str) -> float:
    if not part.indicator:
        return _share(" ".join(part.qualifiers), fact.sentence + context, weights) if part.qualifiers else 0.0
    clause = _clause(fact)
    if len(part.indicator) == 2 and part.indicator not in fact.indicator and part.indicator not in clause:
        return 0.0  # a two-character word is one word: "进口" is not "进出口总额", though it has both characters
    own = max(_share(part.indicator, fact.indicator, weights), _pair_share(part.indicator, clause, weights))
    if (stem := AMOUNT_SUFFIX.sub("", part.indicator)) and stem != part.indicator:
        # "出口额" is what "出口2848.0亿元" states: 额, 量 and 数 name the figure, not the thing
        own = max(own, _share(stem, fact.indicator, weights), _pair_share(stem, clause, weights))
    head = _head(part.indicator)
    if head != part.indicator:  # "…EPC项目建筑面积" is an area first: the row may not repeat the project's name
        own = max(own, HEAD_CREDIT * max(_share(head, fact.indicator, weights), _pair_share(head, clause, weights)))
    if not part.qualifiers:
        return own
    qualifiers = _share("".join(part.qualifiers), fact.sentence + context, weights)
    return own * (1 - QUALIFIER_WEIGHT + QUALIFIER_WEIGHT * qualifiers)


def _clause(fact: Fact) -> str:
    return fact.sentence[fact.clause_start - fact.sentence_start : fact.clause_end - fact.sentence_start]


def _head(indicator: str) -> str:
    """The last two words of a phrase, which name what it measures: "邻里中心EPC项目建筑面积" -> 建筑面积."""
    words = [w.text for w in words_of(indicator)]
    return "".join(words[-HEAD_WORDS:]) if len(words) > HEAD_WORDS else indicator


def _share(asked: str, text: str, weights: Mapping[str, float]) -> float:
    chars = {ch for ch in asked if not ch.isspace()}
    total = sum(weights.get(ch, 1.0) for ch in chars)
    if not total:
        return 0.0
    return sum(weights.get(ch, 1.0) for ch in chars if ch in text) / total


def _pair_share(asked: str, text: str, weights: Mapping[str, float]) -> float:
    """Like `_share`, over the asked phrase's character pairs: a long clause holds many single characters of
    "水运建设投资" by chance, but not its pairs."""
    if len(asked) < 3:
        return _share(asked, text, weights)
    pairs = {asked[i : i + 2] for i in range(len(asked) - 1)}
    total = sum(weights.get(p[0], 1.0) + weights.get(p[1], 1.0) for p in pairs)
    return sum(weights.get(p[0], 1.0) + weights.get(p[1], 1.0) for p in pairs if p in text) / total


def character_weights(facts: Sequence[Fact]) -> dict[str, float]:
    """Inverse document frequency of each character over the table's indicators: compute it over the whole table,
    not over the few rows one question is matched against, where every character is rare."""
    frequencies = Counter(ch for fact in facts for ch in set(fact.indicator))
    n = max(len(facts), 1)
    return {ch: math.log(1 + n / (1 + df)) for ch, df in frequencies.items()}


def slots_failed(part: Frame, fact: Fact) -> tuple[Slot, ...]:
    """Which of the time and status slots a row fails for a frame: what makes a figure of the right thing the wrong
    answer (a target for an actual, another year's)."""
    failed: list[Slot] = []
    if not _period_fits(part, fact):
        failed.append("period")
    if not _kind_fits(part, fact):
        failed.append("kind")
    return tuple(failed)


def _period_fits(part: Frame, fact: Fact) -> bool:
    asked = part.period
    if asked is None:
        return True
    if asked == "now":
        return fact.period is None or fact.as_of is not None or fact.period.startswith("Y0")
    if fact.period is None:
        if fact.as_of == "now":  # "截至目前，已签约…21个" is this year's count so far, not last year's
            return asked.startswith("Y0")
        return not asked[:1].isdigit()  # a year the question names must be the row's
    if asked == f"{fact.period}-12":  # "截至2013年底…达到多少家": a year's report gives the year-end state
        return True
    if fact.period.startswith(asked) or asked.startswith(fact.period + "-"):
        return asked.startswith(fact.period) if fact.period.startswith(asked) else False
    return False


def _kind_fits(part: Frame, fact: Fact) -> bool:
    if "disbursed" in part.flags and "credit" in fact.flags and "disbursed" not in fact.flags:
        return False  # credit granted is not money paid out
    if part.kind == "actual":
        return fact.kind == "actual"
    return fact.kind in ("target", "forecast")


def _measure_fits(part: Frame, fact: Fact) -> bool:
    if part.measure is None:
        return True
    if part.measure == "level":
        return fact.measure in ("level", "share")
    if part.measure == "growth":
        return fact.measure in ("growth", "change")
    return fact.measure == part.measure


def _reason(part: Frame, near: _Scored | None) -> str:
    asked = part.indicator or "所问的数字"
    if near is None:
        return f"语料没有给出{part.owner}{asked}的数字"
    fact = near.fact
    slot = next(s for s in _REASON_ORDER if s in near.failed)
    thing = part.names[0] if part.names else fact.indicator or asked
    if slot == "kind" and "credit" in fact.flags and "disbursed" in part.flags:
        return f"语料给出了{thing}的授信额{fact.text}，没有给出实际发放额"
    if slot == "kind":
        return f"语料给出了{thing}的{_kind_word(fact.kind, fact)}{fact.text}，没有给出{_kind_word(part.kind, fact)}"
    if slot == "measure" and not _unit_fits(part, fact):
        return f"语料中{thing}的数字是{fact.text}，不是以{part.unit}计的"
    if slot == "owner":
        return f"语料给出的是{fact.owner}的{thing}（{fact.text}），没有给出{part.owner}的"
    if slot == "period":
        when = fact.period_text or fact.period or "另一时期"
        return f"语料给出了{when}的{thing}（{fact.text}），没有给出{part.period_text or part.period}的"
    if slot == "measure":
        wanted = _MEASURE_WORDS[part.measure or "level"]
        return f"语料给出了{thing}的{_MEASURE_WORDS[fact.measure]}{fact.text}，没有给出{wanted}"
    return f"语料没有给出{part.owner}{asked}的数字；最接近的是{fact.owner}{thing}{fact.text}"


def _kind_word(kind: str, fact: Fact) -> str:
    return "实际完成额" if kind == "actual" and "元" in fact.unit else _KIND_WORDS[kind]


def _compute(frame: Frame, answers: Sequence[Fact]) -> tuple[float | None, str]:
    if frame.operation not in ("sum", "difference", "remainder", "ratio") or len(answers) < 2:
        return None, ""
    if frame.operation != "ratio" and len({_base_unit(f) for f in answers}) > 1:
        return None, ""  # 144.6亿元 and 10.6亿美元 do not add up; see rag.generate.extractive for what is said
    if len({f.id for f in answers}) < len(answers):
        return None, ""  # two parts read off one figure: the question was not split where the rows are
    first, second = answers[0], answers[1]
    scale, unit = _display_scale(first)
    if frame.operation == "sum":
        total = sum(f.value for f in answers)
        terms = "+".join(_number(f.value / scale) for f in answers)
        return total, f"{terms}={_number(total / scale)}{unit}"
    if frame.operation == "remainder":
        if first.value <= second.value:
            return None, ""  # a part as large as its whole: the rows are not the whole and the part asked
        terms = f"{_number(first.value / scale)}-{_number(second.value / scale)}"
        return first.value - second.value, f"{terms}={_number((first.value - second.value) / scale)}{unit}"
    if frame.operation == "difference":
        high, low = (first, second) if first.value >= second.value else (second, first)
        difference = high.value - low.value
        terms = f"{_number(high.value / scale)}-{_number(low.value / scale)}"
        return difference, f"{terms}={_number(difference / scale)}{unit}"
    if not second.value:
        return None, ""
    ratio = first.value / second.value
    return ratio, f"{_number(first.value / scale)}÷{_number(second.value / scale)}={_number(ratio)}"


def _base_unit(fact: Fact) -> str:
    """ "余家" counts 家: about-words do not change what is counted."""
    return fact.unit.lstrip("余多")


def _display_scale(fact: Fact) -> tuple[float, str]:
    """The multiplier and unit the row was written with: "1324.9亿元" -> 1e8, "亿元"."""
    for word, scale in (("万亿", 1e12), ("亿", 1e8), ("万", 1e4)):
        if word in fact.text:
            return scale, fact.text[fact.text.index(word) :]
    return 1.0, fact.unit


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
