"""Do the retrieved passages answer the question? Decided before any answer is written.

Three checks, in order:

1. Place. A passage from another city's paper ("摘自《金华日报》") or from national news (新华社) cannot
   answer a question about Huzhou unless it names the place asked about. The places come from the
   publications in the index, plus the home place (RAG_HOME_PLACE, 湖州) that a question means when it
   names none. And when such a passage matches the question far better than any local one ("湖州已有多少个
   海外仓？" against "杭州已有283个海外仓"), the question is about that other place's figure: a weaker local
   sentence is not passed off as the answer.
   A place the question names that is neither home nor any publication's ("上海迪士尼乐园…", found by
   jieba's place tag) must be named in the article of the best sentence: the answer is about that place.
   The article, not the chunk: a chunk about "高新区" may belong to an article that says "莫干山高新区".
   So must a year the question names ("2015年…"): the article states it, or is dated that year or the next
   (a dated article's "去年"). When the best sentence's article does not, the next best sentence whose own passage
   (text and title) names them all may answer instead.
2. Coverage (Chinese questions). The best sentence must hold enough of the question's words, weighted by
   rarity, with the words next to the question word ("用户数" in "5G用户数达到多少") counting three times
   (rag.evidence). A question that asks for a number needs a sentence with a figure of the thing it counts
   ("建设5G基站773个" does not give 5G users), not the size of a set that thing is one of ("…35项技术之一").
   A question that says in other words what a sentence says ("织机出毛病的频率" for "故障率") fails coverage; then
   the figure-holding sentence nearest in meaning answers if its dense similarity reaches
   RAG_PARAPHRASE_MIN_SIMILARITY (rag.answer, basis "meaning"). The place, year and figure checks still apply.
3. Similarity (questions in English or another Latin-script language, whose words cannot be matched in
   Chinese text). The best passage's dense similarity must reach a floor.

The thresholds are settings, calibrated on the development questions (`rag eval`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rag.evidence import Question, Sentence, normalise
from rag.models import Passage

if TYPE_CHECKING:
    from rag.facts.models import FactMatch, Frame, NearMiss

NATIONAL = "全国"
_NATIONAL_WORDS = ("全国", "我国", "中国", "china", "national")
_NEWS_AGENCIES = ("新华社", "人民日报", "中新社", "央视")
# Another place's sentence matching this much better than any local one means the question is about its figure.
FOREIGN_MARGIN = 0.3
MIN_PLACE_CHARS = 2
_PLACE_SUFFIXES = ("省", "市", "县", "区", "镇", "乡", "村")
_NAMED_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?=年)")
_CITY_PAPER = re.compile(r"^《?(?P<place>[\u3400-\u9fff]{2,4}?)(?:市)?(?:日报|晚报|都市报|商报|新闻|电视台)")


@dataclass(frozen=True)
class Answerability:
    answerable: bool
    confidence: float  # the best sentence's coverage, or the best dense similarity for cross-lingual questions
    reason: str  # why not, for people; empty when answerable
    # what decided it: "passages", "foreign", "unnamed", "no_figure", "coverage", "similarity" (a refusal), "facts"
    # (a refusal by the figures table), "facts_elsewhere" (the table holds the thing only for another place),
    # "sentences", "meaning" or "facts_row" (an answer)
    basis: str = "sentences"


def publication_place(publication: str | None) -> str | None:
    """The place a publication reports on: "湖州日报" -> "湖州", 新华社 -> 全国; None when it does not say."""
    publication = (publication or "").strip()
    if not publication:
        return None
    if publication.startswith(_NEWS_AGENCIES):
        return NATIONAL
    match = _CITY_PAPER.match(publication)
    return match.group("place") if match else None


def passage_place(passage: Passage) -> str | None:
    return publication_place(passage.publication)


def question_places(question: str, known_places: Sequence[str], home_place: str) -> set[str]:
    """The known places a question names; the home place when it names none."""
    text = normalise(question)
    named = {place for place in known_places if place and place in text}
    if any(word in text for word in _NATIONAL_WORDS):
        named.add(NATIONAL)
    return named or {home_place}


def other_places(question: str, known_places: Sequence[str], home_place: str) -> list[str]:
    """The places the question names (jieba's place tag) beyond home and the publications' places."""
    skip = {*known_places, home_place}
    return [place for place in named_places(question) if not any(place in known or known in place for known in skip)]


def named_years(question: str) -> list[str]:
    """The years a question names: "2013年末湖州…" -> ["2013"]."""
    return list(dict.fromkeys(_NAMED_YEAR.findall(normalise(question))))


def covers_year(text: str, date: str | None, year: str) -> bool:
    """Whether an article (its text and date) can speak of the year: it names it, or is dated it or the year after."""
    return year in text or (date is not None and date[:4] in (year, str(int(year) + 1)))


def mentions(text: str, place: str) -> bool:
    """Whether the text names the place, with or without its 省/市/县/区/镇 ("德清县" in "德清"), or by another of its
    names ("俄罗斯" for "俄国", rag.facts.owners.place_aliases)."""
    from rag.facts.owners import place_aliases

    text = normalise(text)
    if place in text or (len(place) > 2 and place.endswith(_PLACE_SUFFIXES) and place[:-1] in text):
        return True
    return any(alias in text for alias in place_aliases(place))


def named_places(question: str) -> list[str]:
    """Place names in the question, by jieba's part-of-speech tag (ns), normalised."""
    import jieba.posseg

    words = (normalise(pair.word) for pair in jieba.posseg.cut(question) if pair.flag == "ns")
    return list(dict.fromkeys(word for word in words if len(word) >= MIN_PLACE_CHARS))


def is_foreign(passage: Passage, places: set[str]) -> bool:
    """Whether the passage reports on somewhere else than the question asks about."""
    place = passage_place(passage)
    if place is None or place in places:
        return False
    text = normalise(passage.text)
    return not any(asked in text for asked in places if asked != NATIONAL)


def judge(
    question: Question,
    sentences: Sequence[Sentence],
    passages: Sequence[Passage],
    foreign: set[int],
    *,
    unnamed: Mapping[int, Sequence[str]] | None = None,
    naming: Collection[int] = (),
    min_coverage: float,
    min_similarity: float,
    best_similarity: float,
) -> Answerability:
    """Decide from the ranked sentences (rag.evidence) of `passages`, `foreign` holding the indexes of
    passages about another place, `unnamed` the places (`other_places`) and years (`named_years`) the question
    names that each passage's article does not, and `naming` the passages whose own text and title name them all."""
    if not passages:
        return Answerability(False, 0.0, "no passage matched the question", "passages")
    usable = [s for s in sentences if s.passage not in foreign and s.fits]
    if question.cross_lingual:
        if len(foreign) == len(passages):
            return Answerability(False, best_similarity, "the passages found are about other places", "foreign")
        if best_similarity < min_similarity:
            return Answerability(
                False, best_similarity, f"no passage is close enough ({best_similarity:.2f})", "similarity"
            )
        return Answerability(True, best_similarity, "")
    if not usable:
        if foreign:
            places = sorted({passage_place(passages[i]) or "" for i in foreign} - {""})
            return Answerability(False, 0.0, f"the matching passages are about {', '.join(places)}", "foreign")
        return Answerability(False, 0.0, f"no passage states a figure of {_asked_things(question)}", "no_figure")
    best = usable[0]
    if not_named := (unnamed or {}).get(best.passage):
        # The best sentence's article does not name the place or year asked. A later sentence may still answer when
        # its own passage (text and title) names them: "新增血透机60台" under the title "2014年…政府工作报告", below a
        # sentence about 机器人 from an undated page. Its article alone will not do: a long article names many places.
        named = [s for s in usable if s.passage in naming]
        if not named:
            reason = f"the best passage's article does not mention {'、'.join(not_named)}"
            return Answerability(False, best.coverage, reason, "unnamed")
        best = named[0]
    elsewhere = [s for s in sentences if s.passage in foreign and s.fits]
    if elsewhere and elsewhere[0].coverage - best.coverage >= FOREIGN_MARGIN:
        place = passage_place(passages[elsewhere[0].passage])
        return Answerability(
            False, best.coverage, f"the passage that matches is about {place}, not the place asked", "foreign"
        )
    if best.coverage < min_coverage:
        closest = next((s for s in sentences if s.passage not in foreign), best)
        if not closest.fits and closest.coverage >= min_coverage:  # "属于国家35项…技术之一" for "掌握了多少项…技术"
            reason = f"the closest sentence states no figure of {_asked_things(question)}"
            return Answerability(False, best.coverage, reason, "no_figure")
        text = normalise(best.text)
        missing = sorted((w for w in question.weights if w not in text), key=lambda w: -question.weights[w])
        return Answerability(False, best.coverage, f"the passages do not mention {'、'.join(missing[:4])}", "coverage")
    return Answerability(True, best.coverage, "")


def _asked_things(question: Question) -> str:
    return "、".join(c.thing or f"多少{c.measure}" for c in question.counted) or "what is asked"


# Refusals by the sentences' words, whose reason the figures table can say better (which slot no row fits).
_WORD_REFUSALS = frozenset(["coverage", "no_figure"])
# Slots whose failure alone refuses what the sentences would answer: the row is about the thing asked, but is a
# target for an actual or another period's (both read from modal and time words, which the sentence check
# ignores). An owner that differs does not: the place checks above decide places, from the articles.
_TIME_AND_STATUS = frozenset(["kind", "period"])


def decide(
    verdict: Answerability, rows: FactMatch | None, home_place: str, elsewhere: FactMatch | None = None
) -> Answerability:
    """The sentence verdict, checked against the figures table's match of the question (None: the question asks
    no figure of a named thing). A row about the thing asked that is a target, or another period's, where no row
    fits, refuses an answer the sentences would give, and says which slot failed. A fitting row does not overturn
    a refusal: a row's indicator is a short phrase ("企业"), and rows fit questions the passages do not answer
    (on the untouched questions the table alone answered 4 of 9 unanswerable ones)."""
    if rows is None:
        return verdict
    if rows.answered:
        return replace(verdict, basis="facts_row") if verdict.answerable else verdict
    nearest = rows.near_misses[0] if rows.near_misses else None
    if not verdict.answerable:
        # A row about the thing asked says better what is missing than the words the sentences lack.
        named = verdict.basis in _WORD_REFUSALS and nearest is not None and "indicator" not in nearest.failed
        return replace(verdict, reason=rows.reason) if named else verdict
    if (nearest is not None and set(nearest.failed) <= _slots_that_refuse(rows.frame, home_place)) or (
        nearest is None and rows.frame.owner_within
    ):
        return Answerability(False, verdict.confidence, rows.reason, "facts")
    if _only_elsewhere(nearest, elsewhere):
        assert elsewhere is not None
        return Answerability(False, verdict.confidence, elsewhere.reason, "facts_elsewhere")
    return verdict


def _only_elsewhere(nearest: NearMiss | None, elsewhere: FactMatch | None) -> bool:
    """No local row is about the thing asked, and a passage about another place gives that thing's figure, for
    that place: the question's wording matches another city's figure (a distractor), so the local sentence that
    shares its words answers something else ("6个海外招商联络处" for "湖州已经建成多少个海外仓？")."""
    if elsewhere is None or not elsewhere.near_misses or (nearest is not None and "indicator" not in nearest.failed):
        return False
    return elsewhere.near_misses[0].failed == ("owner",)


def _slots_that_refuse(frame: Frame, home_place: str) -> frozenset[str]:
    """A question about a place other than the home one ("南浔区截至5月底建成了多少个5G基站？") is not answered by
    the city's figure, nor by another district's: the row must be that place's, or its sentence or the text before
    it must name the place (rag.facts.match). Only where each clause names its place: a clause that goes on about
    "它" ("另一篇报道又说它集聚了多少家…") carries the place over loosely, to rows of other articles."""
    parts = frame.parts or (frame,)
    stated = all(part.owner in part.clause for part in parts)
    return _TIME_AND_STATUS | {"owner"} if frame.owner != home_place and stated else _TIME_AND_STATUS
