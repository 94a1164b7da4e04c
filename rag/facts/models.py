"""The figures table's rows, a question read into the same slots, and what matching the two found.

    fact.indicator, fact.owner, fact.period, fact.kind   # "规上工业增加值", "湖州", "Y-1", "actual"
    frame.indicator, frame.owner, frame.period, frame.kind, frame.operation

Periods are labels that sort within their kind: "2013", "2023-H1", "2023-Q1", "2023-01..2023-05". An article
whose date is not known keeps relative years as offsets from its own year: "Y0" (今年), "Y-1" (去年), "Y0-H1".
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal["actual", "target", "forecast"]
Measure = Literal["level", "growth", "share", "rank", "change"]
Flag = Literal["cumulative", "credit", "disbursed", "set_size"]  # set_size: "…35项技术之一"
# remainder: a whole less its part ("990公里, 其中省级358公里" for 非省级)
Operation = Literal["value", "list", "sum", "difference", "remainder", "ratio", "rank"]
Slot = Literal["indicator", "owner", "period", "kind", "measure"]


class Fact(BaseModel):
    """One figure of one article, read as data. Offsets are into `Article.text`."""

    model_config = ConfigDict(frozen=True)

    id: str
    article_id: str
    source_file: str
    value: float  # base units: 万 and 亿 folded in; a percent is its number (3 for 3%)
    unit: str  # as written after the number: "元", "个", "%", "个百分点"
    text: str  # the figure as written: "1324.9亿元"
    indicator: str  # the noun phrase it measures: "规上工业增加值", "5G基站"
    owner: str  # the place or organisation it belongs to: "湖州", "吴兴区", "金华", "全国"
    period: str | None  # sortable label, see the module docstring; None when neither sentence nor article says
    period_text: str = ""  # as written: "去年", "截至5月底", "1至5月"
    as_of: str | None = None  # the month a cumulative figure is counted up to: "Y0-05"
    kind: Kind = "actual"
    measure: Measure = "level"
    flags: tuple[Flag, ...] = ()
    sentence: str
    sentence_start: int
    sentence_end: int
    clause_start: int
    clause_end: int
    start: int
    end: int


class Frame(BaseModel):
    """A question read as what it asks: "去年湖州规上工业增加值是多少？" -> indicator 规上工业增加值, owner 湖州,
    period Y-1, kind actual, operation value. A question with several asked figures has one part per figure."""

    model_config = ConfigDict(frozen=True)

    question: str
    indicator: str | None  # None: the question does not name what it counts (or is not in Chinese)
    qualifiers: tuple[str, ...] = ()
    owner: str
    owner_within: str | None = None  # the city the question puts the owner in: 湖州 in "湖州吴兴区…"
    period: str | None = None
    period_text: str = ""
    kind: Kind = "actual"
    measure: Measure | None = None  # None: any
    flags: tuple[Flag, ...] = ()
    unit: str = ""  # the unit or classifier asked with: "个" in 几个, "亿元" in 多少亿元
    names: tuple[str, ...] = ()  # what the question quotes ("“品牌贷”"): the row's sentence or title names it
    anchors: tuple[float, ...] = ()  # figures the question itself states ("那171户"): the row's sentence holds them
    operation: Operation = "value"
    wants_figure: bool = True
    n_figures: int = 1
    clause: str = ""  # the words of the question this part was read from
    parts: tuple[Frame, ...] = ()


class NearMiss(BaseModel):
    """A row that fits every slot of a frame but one or two: which ones."""

    model_config = ConfigDict(frozen=True)

    fact: Fact
    failed: tuple[Slot, ...]


class FactMatch(BaseModel):
    """The rows that answer a frame, the computed figure when the frame asks for arithmetic, and what nearly fit."""

    model_config = ConfigDict(frozen=True)

    frame: Frame
    answers: tuple[Fact, ...]
    operands: tuple[Fact, ...] = ()
    computed: float | None = None
    arithmetic: str = ""  # "94+40=134个"
    near_misses: tuple[NearMiss, ...] = ()
    found: tuple[Fact, ...] = ()  # unanswered: the rows of the parts that do fit ("出口" of "出口比进口多多少")
    reason: str = ""  # for people, in Chinese: which slot no row fits, and what was found instead

    @property
    def answered(self) -> bool:
        return bool(self.answers)
