"""The figures table for one answer: the rows that the retrieved passages hold, matched against the question.

Only a row whose figure lies inside a retrieved passage can be cited, so the match runs over those rows, and
each row keeps the passage it is cited by. Passages about another place (rag.answerability.is_foreign) give no
answer: their rows are matched on their own (`elsewhere`), to tell a question whose thing only another place's
passage states ("湖州已经建成多少个海外仓？" where only 杭州's 283个 is given).

    cited = cited_match(index, frame, passages, foreign)
    cited.match.answered, cited.passage_of[fact.id]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rag.facts.match import match, slots_failed
from rag.facts.models import Fact, FactMatch, Frame
from rag.models import Article, Passage
from rag.store import Store
from rag.verify import extract_figures


@dataclass(frozen=True)
class CitedMatch:
    match: FactMatch
    passage_of: dict[str, int] = field(default_factory=dict)  # fact id -> index of the passage that holds it
    rows: tuple[Fact, ...] = ()  # every row the passages hold
    elsewhere: FactMatch | None = None  # the same frame over the rows of the passages about other places

    def cite(self, fact: Fact) -> str:
        return f"[{self.passage_of[fact.id] + 1}]"


def asks_for_rows(frame: Frame) -> bool:
    """Whether the table can decide: the question asks a figure and names what it counts."""
    return frame.wants_figure and any(part.indicator for part in frame.parts or (frame,))


def cited_match(
    index: Store,
    frame: Frame,
    passages: Sequence[Passage],
    foreign: set[int],
    weights: Mapping[str, float] | None = None,
) -> CitedMatch:
    """`weights`: `rag.facts.match.character_weights` of the whole table, computed once per index."""
    ids = list(dict.fromkeys(p.article_id for p in passages))
    articles: dict[str, Article] = {a: index.article(a) for a in ids}
    rows: list[Fact] = []
    foreign_rows: list[Fact] = []
    passage_of: dict[str, int] = {}
    for fact in index.facts(article_ids=ids):
        holder = next((i for i in range(len(passages)) if _holds(passages[i], fact)), None)
        if holder is not None:
            (foreign_rows if holder in foreign else rows).append(fact)
            passage_of[fact.id] = holder
    found = match(frame, rows, articles, weights)
    elsewhere = match(frame, foreign_rows, articles, weights) if foreign_rows and not found.answered else None
    return CitedMatch(found, passage_of, tuple(rows), elsewhere)


def _holds(passage: Passage, fact: Fact) -> bool:
    return passage.article_id == fact.article_id and passage.start <= fact.start and fact.end <= passage.end


_KINDS = {"actual": "实际数", "target": "目标或计划", "forecast": "预计数"}
_FLAGS = {"cumulative": "累计", "credit": "授信额", "disbursed": "发放额", "set_size": "所属集合的大小"}
PROMPT_ROWS = 6
COMPUTED = ("sum", "difference", "remainder", "ratio")  # operations whose answer is a figure worked out from the rows


def prompt_lines(cited: CitedMatch) -> list[str]:
    """The rows an LLM should see beside the passages: those that answer and those that nearly do, each with what
    it measures, whose it is, when, and whether it is an actual or a target; then the arithmetic, or why no row
    answers. Each line cites the passage its row is in."""
    found = cited.match
    facts = [*found.answers, *found.found, *(miss.fact for miss in found.near_misses)]
    facts = list(dict.fromkeys(facts))[:PROMPT_ROWS]
    lines = [f"- {_described(fact)}{cited.cite(fact)}" for fact in facts]
    if found.arithmetic and found.operands:
        cites = "".join(dict.fromkeys(cited.cite(f) for f in found.operands))
        lines.append(f"- 按问题要求计算：{found.arithmetic}{cites}")
    elif not found.answered and found.reason:
        unable = "，无法按问题要求计算" if found.found and found.frame.operation in COMPUTED else ""
        lines.append(f"- 注意：{found.reason}{unable}")
    return lines


def _described(fact: Fact) -> str:
    when = fact.period_text or fact.period or "时期未写明"
    flags = "".join(f"，{_FLAGS[flag]}" for flag in fact.flags if flag in _FLAGS)
    return f"{fact.text}：{fact.indicator}，{fact.owner}，{when}，{_KINDS[fact.kind]}{flags}"


_SAYS_TARGET = re.compile(r"目标|计划|力争|预计|预期|拟|将|target|plan|goal|aim|expect|forecast", re.IGNORECASE)


def misread_figures(answer: str, cited: CitedMatch) -> list[str]:
    """Figures of an answer whose rows (the same value, in a passage the sentence cites) are all of another kind
    than the question asks, when the sentence does not say so: "180亿元" given as what was exported, where the passage
    states it as a goal. A figure of the answer that no row holds is the digit check's business."""
    frame = cited.match.frame
    problems: list[str] = []
    for sentence in re.split(r"(?<=[。！？!?\n])", answer):
        cites = {int(n) - 1 for n in re.findall(r"\[(\d+)\]", sentence)}
        for figure in extract_figures(sentence):
            rows = [
                r for r in cited.rows
                if cited.passage_of.get(r.id) in cites and abs(r.value - float(figure.value)) < 1e-9 * max(1.0, r.value)
            ]  # fmt: skip
            # Only the kind: periods read from "半年内" or a heading are not sure enough to overrule an answer.
            if not rows or _SAYS_TARGET.search(sentence) or not all("kind" in slots_failed(frame, r) for r in rows):
                continue
            problems.append(f"{figure.text} is a {rows[0].kind}, not what the question asks")
    return problems
