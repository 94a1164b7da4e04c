"""Two things asked in one clause, read as one asking clause for each, and the arithmetic that joins them.

    split_pair("2013年财政总收入比地方财政收入多出多少亿元", "")
    # Pair("difference", ("2013年财政总收入多少亿元", "地方财政收入多少亿元"))
    split_pair("两个项目投资一共多少亿元", "签约的高效能电机项目和MEMS射频芯片项目")
    # Pair("sum", ("签约的高效能电机项目投资多少亿元", "MEMS射频芯片项目投资多少亿元"))
    split_pair("非省级绿道有多少公里", "累计建成的城乡绿道中")
    # Pair("remainder", ("累计建成的城乡绿道有多少公里", "省级绿道有多少公里"))

Writers put two figures in one clause in three ways:
- a comparison, "A比B多/高/少/低（出/了）多少…": the difference of A and B. B may name only what differs from A
  ("2014年的目标比2013年多多少"); the frame carries the rest over. "比上年增长多少" asks a growth rate, not two
  figures: a base that is only a time word, with no year written, is left to the growth reading;
- a coordination under a sum or 分别, "A和B（两个项目）一共多少…", "A、B加起来多少…", "A和B分别是多少": one part
  for each conjunct, with what the clause asks ("投资多少亿元") after each;
- a remainder, "X中，非Y有多少…", "X中除Y以外…": X less Y, where X must be the larger.
`previous` is the clause before, when it asks nothing itself: the coordination or the whole may be said there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.facts.models import Operation
from rag.facts.phrases import words_of

_ASKING = re.compile(r"(?:多少|几)")
_COMPARE_VERB = re.compile(
    r"(?:提高了?|提升了?|降低了?|上升了?|增加了?|减少了?|增长了?|下降了?|多出|高出|超出|多了|少了|高了|低了|多|少|高|低)"
    r"(?=多少|几)"
)
_GROWTH_VERB = re.compile(r"提高|提升|降低|上升|增加|减少|增长|下降")
# A base of comparison that is only a time: "上年", "去年同期", "2013年".
_TIME_WORDS = re.compile(r"^(?:(?:19|20)\d\d年|今年|去年|上年|前年|同期|年初|年底|上半年|下半年|的)+$")
_TIME_PREFIX = re.compile(r"^(?:(?:19|20)\d\d年|今年|去年|上年|前年|上半年|下半年|的)+")
_WRITTEN_YEAR = re.compile(r"(?:19|20)\d\d年")
_CONJUNCTIONS = frozenset(["和", "与", "及", "以及", "跟", "、"])
SUM_WORDS = re.compile(r"合计|加起来|加在一起|总共|一共|共计|总计|总和|之和")
_EACH_WORDS = re.compile(r"分别|各自|各")
# The words between the coordinated things and the asking word: "…分别是", "…加起来一共有".
_LINKING_TAIL = re.compile(r"(?:分别|各自|各|都|一共|总共|共计|合计|加起来|总计|共|是|为|有|达到|达)+$")
# "两个项目", "这两者", "二者": the two things named before.
_BACK_REFERENCE = re.compile(r"^(?:这|那)?(?:两|二|三|几)(?:个|项|家|者|类|种|笔|批|所|座|条)?")
_WHOLE_END = re.compile(r"(?:当中|之中|中|里)$")
_NOT_PART = re.compile(r"^(?:其中)?非(?P<part>.+?)(?P<rest>(?:有|是|为|共有)?(?:多少|几).*)$")
_EXCEPT_PART = re.compile(
    r"^(?:其中)?除(?:了|去)?(?P<part>.+?)(?:以外|之外|外)[的，,]?(?:其他|其余|其它|还有)?(?:的)?"
    r"(?:[^多几有是为]{0,8}?)(?P<rest>(?:有|是|为|共有)?(?:多少|几).*)$"
)


@dataclass(frozen=True)
class Pair:
    """The operation over the two (or more) things, and one asking clause for each, in the question's order."""

    operation: Operation
    clauses: tuple[str, ...]


def split_pair(clause: str, previous: str = "") -> Pair | None:
    """The things `clause` asks about together, each as a clause of its own; None when it asks about one thing."""
    return _remainder(clause, previous) or _comparison(clause) or _coordination(clause, previous)


def _comparison(clause: str) -> Pair | None:
    compared = next((w for w in words_of(clause) if w.text == "比"), None)
    if compared is None:
        return None
    verb = _COMPARE_VERB.search(clause, compared.end)
    if verb is None:
        return None
    first = clause[: compared.start].removesuffix("的")
    base = clause[compared.end : verb.start()].removesuffix("的")
    if not first or not base:
        return None
    if _TIME_WORDS.match(base) and (not _WRITTEN_YEAR.search(base) or _GROWTH_VERB.match(verb.group())):
        return None  # "比上年增长多少": a growth rate, one figure
    asked = clause[verb.end() :]
    return Pair("difference", (first + asked, base + asked))


def _coordination(clause: str, previous: str) -> Pair | None:
    asking = _ASKING.search(clause)
    if asking is None:
        return None
    said = clause[: asking.start()]
    if not (SUM_WORDS.search(clause) or _EACH_WORDS.search(said) or _EACH_WORDS.search(previous)):
        return None
    operation: Operation = "sum" if SUM_WORDS.search(clause) else "list"
    things = _conjuncts(_LINKING_TAIL.sub("", said))
    if len(things) >= 2:
        return Pair(operation, tuple(thing + clause[asking.start() :] for thing in things))
    things = _conjuncts(_LINKING_TAIL.sub("", previous))
    if len(things) < 2:
        return None
    asked = _after_back_reference(SUM_WORDS.sub("", clause), things[-1])
    return Pair(operation, tuple(thing + asked for thing in things))


def _conjuncts(text: str) -> list[str]:
    """ "A和B" -> [A, B]; "A、B和C" -> [A, B, C]; [text] when nothing is coordinated. A conjunct ending in 的 (…支持的)
    stands for the ones it describes: the 的 goes."""
    pieces, start = [], 0
    for word in words_of(text):
        if word.text in _CONJUNCTIONS and word.tag in ("c", "x", "p", "zg"):
            pieces.append(text[start : word.start])
            start = word.end
    pieces.append(text[start:])
    if not all(_names_a_thing(p) for p in pieces):
        return [text]  # "新增和改造了多少公里": two actions on one thing, one figure
    pieces = [p.removesuffix("的") for p in pieces]
    # "2013年和2014年新增建设用地指标": a conjunct that is only a time shares the thing the last one names.
    thing = _TIME_PREFIX.sub("", pieces[-1])
    pieces = [p + thing if _TIME_WORDS.match(p) else p for p in pieces]
    return pieces if all(re.search(r"[\u3400-\u9fff]{2}", p) for p in pieces) else [text]


def _names_a_thing(conjunct: str) -> bool:
    """A conjunct ends in a noun ("…项目"), a time ("2013年"), or 的 ("获得贷款支持的": those who got it)."""
    words = words_of(conjunct)
    if not words or conjunct.endswith("的") or _TIME_WORDS.match(conjunct):
        return bool(words)
    return words[-1].tag[:1] in ("n", "j", "l") or words[-1].tag in ("vn", "eng")


def _after_back_reference(clause: str, last_thing: str) -> str:
    """ "两个项目投资多少亿元" after "…MEMS射频芯片项目" -> "投资多少亿元": the reference and the noun it repeats go."""
    rest = _BACK_REFERENCE.sub("", clause)
    if rest == clause:
        return clause
    words = words_of(rest)
    if words and last_thing.endswith(words[0].text) and not _ASKING.match(words[0].text):
        return rest[words[0].end :]
    return rest


def _remainder(clause: str, previous: str) -> Pair | None:
    whole, asked = previous, clause
    if not _WHOLE_END.search(whole):
        inside = re.search(r"(?:当中|之中|中)(?=非|除)", clause)
        if inside is None:
            return None
        whole, asked = clause[: inside.end()], clause[inside.end() :]
    part = _NOT_PART.match(asked) or _EXCEPT_PART.match(asked)
    if part is None:
        return None
    total = _WHOLE_END.sub("", whole).removesuffix("的")
    rest = part.group("rest")
    return Pair("remainder", (total + rest, part.group("part").removesuffix("的") + rest))
