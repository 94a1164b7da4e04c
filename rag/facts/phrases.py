"""Noun phrases and cue words, shared by the rows (rag.facts.extract) and the questions (rag.facts.frames).

phrase_before(words_of("全市实现规上工业增加值"))   # "规上工业增加值"
phrase_after(words_of("家科研机构"))                # "科研机构"
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.facts.models import Flag
from rag.facts.owners import places_in

TARGET_WORDS = frozenset(["目标", "计划", "力争", "争取", "确保", "将", "要", "拟", "打算", "冲刺", "预期", "规划"])
FORECAST_WORDS = frozenset(["预计", "有望", "预测"])
ACTUAL_WORDS = frozenset(["已", "已经", "已有", "目前", "至今", "截至", "截止", "累计", "完成率", "同比"])
GROWTH_WORDS = ("增长", "增速", "增幅", "下降", "上涨", "削减", "减少", "提高", "提升", "回落", "拉动")
SHARE_WORDS = ("占比", "比重", "比例", "占", "率")
FLAG_WORDS: dict[Flag, tuple[str, ...]] = {
    "cumulative": ("累计", "共计", "合计", "总计", "截至", "截止"),
    "credit": ("授信",),
    "disbursed": ("发放", "放贷", "放款", "投放"),
}
SET_MEMBER = re.compile(r"之一[\"'”’」』)）]*$")  # "…属于国家35项“卡脖子”技术之一": the size of a set
# Classifiers that stand between a number and the noun it counts: "38家科研机构", "100个…项目".
CLASSIFIERS = frozenset("个项家名位座所台条件批类种户只株棵支场辆艘架栋间套张")
# "s" (处所词) names where a thing is: "283个海外仓", "6个海外招商联络处" count warehouses abroad, not warehouses.
_PHRASE_TAGS = frozenset(["vn", "an", "j", "l", "eng", "b", "nz", "nt", "nr", "ns", "n", "ng", "nrt", "nrfg", "s"])
_SKIPPED_BEFORE = frozenset(["达", "达到", "为", "超", "超过", "突破", "约", "近", "共", "累计", "总计", "合计", "逾"])
_SKIPPED_BEFORE |= frozenset(["实现", "完成", "有", "已有", "共有", "拥有", "是", "达成", "至", "到", "超出", "高达"])
_SKIPPED_BEFORE |= frozenset(["一共", "总共", "共计"])
_GROWTH_ADVERBS = frozenset(["同比", "各", "分别", "均", "都", "了", "比上年", "较上年", "较去年"])
_COMPARED_WITH = frozenset(["比", "较", "与", "同"])
_SCOPE = frozenset(["全市", "全区", "全县", "全省", "全国", "我市", "本市", "其中", "分别", "同比", "全年", "实际"])


@dataclass(frozen=True)
class Word:
    text: str
    tag: str
    start: int
    end: int


def phrase_before(words: Sequence[Word]) -> str:
    """The run of nouns that ends nearest the figure, past linking verbs: "全市实现规上工业增加值" -> 规上工业增加值."""
    end = len(words)
    while end and (words[end - 1].text in _SKIPPED_BEFORE or words[end - 1].tag in ("d", "x", "m", "q", "p", "u")):
        end -= 1
    start = end
    while start and _in_phrase(words, start - 1):
        start -= 1
    while start < end and (words[start].text in _SCOPE or _is_place_word(words[start]) or _stray(words[start])):
        start += 1
    # A verbal noun that opens a phrase is the action, not the thing: "建设5G基站" counts base stations.
    if start + 1 < end and words[start].tag == "vn" and words[start + 1].tag[:1] in ("n", "m", "e"):
        start += 1
    phrase = "".join(w.text for w in words[start:end])
    return _subject_before(words[:start]) + phrase if phrase else ""


def _stray(word: Word) -> bool:
    """A lone character left over from the words before ("半年内" -> 内), not part of a name."""
    return len(word.text) == 1 and word.tag not in ("eng", "m")


def _subject_before(words: Sequence[Word]) -> str:
    """The nouns a linking verb joins to the phrase: "水运建设累计完成投资" -> 水运建设 (+ 投资)."""
    end = len(words)
    while end and (words[end - 1].text in _SKIPPED_BEFORE or words[end - 1].tag == "d"):
        end -= 1
    if end == len(words):
        return ""
    start = end
    while start and _in_phrase(words, start - 1):
        start -= 1
    while start < end and (words[start].text in _SCOPE or _is_place_word(words[start]) or _stray(words[start])):
        start += 1
    subject = "".join(w.text for w in words[start:end])
    return subject if len(subject) > 1 else ""


def before_growth(words: Sequence[Word]) -> list[Word]:
    """The words before a growth verb and its adverbs: "…增加值同比均增长" -> "…增加值"; all of them if none."""
    for i in reversed(range(len(words))):
        if words[i].text in GROWTH_WORDS:
            kept = list(words[:i])
            # "比去年同期增长": what comes after 比 is the base compared with, not the thing that grew.
            bases = [j for j, w in enumerate(kept) if w.text in _COMPARED_WITH]
            if bases:
                kept = kept[: bases[-1]]
            while kept and kept[-1].text in _GROWTH_ADVERBS:
                kept.pop()
            return kept
    return list(words)


def last_verb(words: Sequence[Word]) -> str:
    verbs = [w for w in words if w.tag.startswith("v") and len(w.text) > 1 and w.text not in _SKIPPED_BEFORE]
    return verbs[-1].text if verbs else ""


def phrase_after(words: Sequence[Word]) -> str:
    """The nouns after a figure and its classifier: "家科研机构" -> 科研机构."""
    start = 0
    while start < len(words) and words[start].tag in ("m", "q", "f", "x", "u") and not _in_phrase(words, start):
        start += 1
    end = start
    while end < len(words) and _in_phrase(words, end):
        end += 1
    return "".join(w.text for w in words[start:end])


def _in_phrase(words: Sequence[Word], i: int) -> bool:
    word = words[i]
    if word.text in _SCOPE or word.text in _SKIPPED_BEFORE or word.tag == "t":  # 去年同期, 今年: times, not things
        return False
    if word.tag in _PHRASE_TAGS:
        return True
    if word.tag == "a" and i + 1 < len(words) and words[i + 1].tag.startswith("n"):  # "低效用地"
        return True
    return word.tag == "m" and i + 1 < len(words) and words[i + 1].tag == "eng"  # "5/m G/eng" is one name


def _is_place_word(word: Word) -> bool:
    return bool(places_in(word.text)) and word.tag in ("ns", "nr", "nz")


def words_of(text: str) -> list[Word]:
    import jieba.posseg

    words: list[Word] = []
    offset = 0
    for pair in jieba.posseg.cut(text):
        words.append(Word(pair.word, pair.flag, offset, offset + len(pair.word)))
        offset += len(pair.word)
    return [w for w in words if w.text.strip()]
