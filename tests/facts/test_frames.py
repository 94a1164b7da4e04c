"""Questions read into the slots of the figures table."""

from __future__ import annotations

from rag.facts.frames import read_question
from rag.facts.periods import ReferenceDate

HOME = "湖州"


def test_read_question_reads_indicator_place_and_relative_year():
    frame = read_question("去年湖州规上工业增加值一共是多少？", HOME)
    assert (frame.indicator, frame.owner, frame.period, frame.kind, frame.operation) == (
        "规上工业增加值", HOME, "Y-1", "actual", "value",
    )  # fmt: skip


def test_read_question_resolves_a_relative_year_against_a_reference_date():
    assert read_question("去年全市工业投资是多少？", HOME, ReferenceDate(2024, 3)).period == "2023"


def test_read_question_tells_a_target_from_an_actual():
    assert read_question("今年湖州计划新增绿道多少公里？", HOME).kind == "target"
    assert read_question("安吉经济开发区上半年实际完成自营出口多少亿元？", HOME).kind == "actual"


def test_read_question_marks_money_paid_out_not_credit():
    frame = read_question("“品牌贷”已经发放了多少贷款？", HOME)
    assert "disbursed" in frame.flags and "credit" not in frame.flags
    assert frame.names == ("品牌贷",)


def test_read_question_keeps_the_place_asked():
    assert read_question("莫干山高新区签约了几个亿元以上项目？", HOME).owner == "莫干山高新区"
    assert read_question("金华上半年出口额是多少？", HOME, known_places=["金华"]).owner == "金华"


def test_read_question_reads_the_year_named():
    frame = read_question("2015年湖州地区生产总值是多少？", HOME)
    assert (frame.period, frame.indicator) == ("2015", "地区生产总值")


def test_read_question_reads_a_difference_of_two_figures():
    frame = read_question("今年计划新增绿道多少公里？目前已完成多少公里？还差多少公里？", HOME)
    assert frame.operation == "difference" and frame.n_figures == 2
    assert [p.kind for p in frame.parts] == ["target", "actual"]


def test_read_question_reads_a_sum_over_two_years():
    frame = read_question("2013年盘活存量建设用地多少亩？2014年计划盘活多少亩？两年合计多少亩？", HOME)
    assert frame.operation == "sum"
    assert [(p.period, p.kind, p.indicator) for p in frame.parts] == [
        ("2013", "actual", "存量建设用地"),
        ("2014", "target", "存量建设用地"),
    ]


def test_read_question_reads_a_growth_rate_after_a_level():
    frame = read_question("今年上半年全市工业投资达到多少？增速是多少？", HOME)
    assert [(p.indicator, p.measure) for p in frame.parts] == [("工业投资", "level"), ("工业投资", "growth")]


def test_read_question_without_a_figure_asks_for_none():
    assert not read_question("德清与哪所高校共建了实验室？", HOME).wants_figure


def test_read_question_keeps_the_city_a_district_is_put_in():
    frame = read_question("湖州肥西县引进了多少个项目？", HOME, known_places=["合肥"])
    assert (frame.owner, frame.owner_within) == ("肥西县", HOME)


def test_read_question_reads_a_comparison_in_one_clause_as_two_parts():
    frame = read_question("2013年湖州固定资产投资比社会消费品零售总额多多少亿元？", HOME)
    assert frame.operation == "difference"
    assert [(p.indicator, p.period) for p in frame.parts] == [("固定资产投资", "2013"), ("社会消费品零售总额", "2013")]


def test_read_question_keeps_each_sides_year_and_kind_in_a_comparison():
    frame = read_question("2014年新增建设用地指标的计划比2013年实际新增的少多少万亩？", HOME)
    assert [(p.period, p.kind) for p in frame.parts] == [("2014", "target"), ("2013", "actual")]
    assert frame.parts[0].indicator == frame.parts[1].indicator


def test_read_question_reads_a_sum_of_two_named_things():
    frame = read_question("2014年力争的省外浙商回归资金和央企合作资金，两项加起来一共多少亿元？", HOME)
    assert frame.operation == "sum" and frame.n_figures == 2
    assert [p.kind for p in frame.parts] == ["target", "target"]


def test_read_question_reads_a_remainder_as_the_whole_less_the_part():
    frame = read_question("2013年湖州外贸进出口总额中，除出口以外的部分是多少亿美元？", HOME)
    assert frame.operation == "remainder"
    assert [p.indicator for p in frame.parts] == ["外贸进出口总额", "出口"]


def test_read_question_reads_two_things_asked_separately_then_their_difference():
    frame = read_question("2013年和2014年计划的新增建设用地指标分别是多少？两年相差多少？", HOME)
    assert frame.operation == "difference"
    assert [p.period for p in frame.parts] == ["2013", "2014"]


def test_read_question_reads_a_growth_after_bi_as_one_figure():
    frame = read_question("今年上半年规上工业增加值比上年增长多少？", HOME)
    assert (frame.operation, frame.n_figures, frame.measure) == ("value", 1, "growth")
