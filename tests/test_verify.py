"""Verification: figures found and compared across notations, citations checked and repaired, claims cited."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.verify import extract_figures, rejection_reason, repair_citations, verify_answer

# Passages as the index holds them (cleaned article text of the seed corpus).
INDUSTRY = (
    "去年，全市实现规上工业增加值1324.9亿元，同比增长3%。装备制造业增加值同比增长14.4%，列全省第2位，"
    "拉动规上工业增加值增长4.1个百分点，贡献率达133.8%。"
)
FIVE_G = "截至5月底，5G建设完成投资6672.4万元，建设5G基站773个，移动5G和千兆光网行政村实现100%覆盖，提前完成年度目标。"
HEALTH = "2022年11月以来，较短时间实现了疫情防控平稳转段，2亿多人得到诊治，近80万重症患者得到有效救治。"
DIGITAL = "1至5月，数字经济规上核心产业制造业增加值61.8亿元，同比增长8%，拉动全市规上工业增长22.3个百分点。"
SHARES = (
    "全市高技术制造业和数字经济核心制造业增长平稳，同比均增长7.1%，占规上工业增加值比重分别为12.9%和10.4%，"
    "同比分别提高1.5个和0.3个百分点。"
)
RANKING = "成功跻身中国百强城市榜第46位，较上年提升6位。"


def figures_of(text: str) -> list[tuple[str, str, str]]:
    return [(f.text, str(f.value), f.kind) for f in extract_figures(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("建设5G基站773个", [("773个", "773", "number")]),
        ("完成投资6672.4万元", [("6672.4万元", "66724000", "number")]),
        ("同比增长3%", [("3%", "3", "percent")]),
        ("全市实现规上工业增加值1324.9亿元", [("1324.9亿元", "132490000000", "number")]),
        ("增加值 1324.9 亿元，", [("1324.9 亿元", "132490000000", "number")]),
        ("增加值1,324.9亿元", [("1,324.9亿元", "132490000000", "number")]),
        ("共132,490,000,000元", [("132,490,000,000元", "132490000000", "number")]),
        ("近80万重症患者得到有效救治", [("80万", "800000", "number")]),
        ("拉动全市规上工业增长22.3个百分点", [("22.3个百分点", "22.3", "points")]),
        ("同比分别提高1.5个和0.3个百分点", [("1.5个", "1.5", "points"), ("0.3个百分点", "0.3", "points")]),
        ("分别为12.9%和10.4%", [("12.9%", "12.9", "percent"), ("10.4%", "10.4", "percent")]),
        ("补贴3至5万元", [("3", "30000", "number"), ("5万元", "50000", "number")]),
        ("增长３．５％，建成１２３个", [("３．５％", "3.5", "percent"), ("１２３个", "123", "number")]),
        ("三千家企业", [("三千家", "3000", "number")]),
        ("二十六个项目", [("二十六个", "26", "number")]),
        ("两个中心", [("两个", "2", "number")]),
        ("一千零七人", [("一千零七人", "1007", "number")]),
        ("十个村", [("十个", "10", "number")]),
        ("二十六点五亿元", [("二十六点五亿元", "2650000000", "number")]),
        ("近五成", [("五成", "50", "percent")]),
        ("百分之三十", [("百分之三十", "30", "percent")]),
        ("城市榜第46位", [("46位", "46", "number")]),
        ("投入4000多万元", [("4000多万元", "40000000", "number")]),
        ("人口自然增长率2.2‰", [("2.2‰", "0.22", "percent")]),
        ("年产2GWh锂离子电池", [("2GWh", "2", "number")]),
        ("Huzhou built 773 5G base stations [1].", [("773", "773", "number")]),
        ("worth 132.49 billion yuan", [("132.49 billion", "132490000000", "number")]),
        (
            "up 3 percent, or 2 percentage points",
            [("3 percent", "3", "percent"), ("2 percentage points", "2", "points")],
        ),
        ("ranked 46th", [("46th", "46", "number")]),
        ("建成2000辆", [("2000辆", "2000", "number")]),
        ("位列第3，500家企业参与", [("3", "3", "number"), ("500家", "500", "number")]),  # "，" is no thousands mark
    ],
)
def test_extract_figures_reads_each_form(text, expected):
    assert figures_of(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2013年，湖州",
        "2014，湖州",
        "In 2014, Huzhou",
        "二〇二二年",
        "截至5月底",
        "7月22日晚上",
        "三月，二十六日",
        "1至5月",
        "2025-09-03",
        "14时22分",
        "上午10:30",
        "on July 22",
        "5G基站",
        "G60科创走廊",
        "MEMS2芯片",
        "４Ｋ电视",
        "见[1]，又见[1][2]和【3】",
        "1. 全市\n2、建设\n(1) 增长",
        "统一，第一，一个，一体化",
        "十四五规划",
        "年产百万套",
        "几十万，数十家",
        "周三上午",
    ],
)
def test_extract_figures_skips_what_is_not_a_figure(text):
    assert extract_figures(text) == []


@pytest.mark.parametrize(
    ("text", "figure", "naive"),
    [
        ("同比增长3%", "3%", r"\b3\b"),
        ("建设5G基站773个", "773个", r"\b773\b"),
        ("近80万重症患者", "80万", r"\b80\b"),
        ("列全省第2位", "2位", r"\b2\b"),
    ],
)
def test_extract_figures_finds_numbers_touching_chinese_where_word_boundaries_fail(text, figure, naive):
    assert re.search(naive, text) is None  # Python's \b sees 长 and 3 as one word
    assert [f.text for f in extract_figures(text)] == [figure]


@given(st.text(alphabet="0123456789１２３，,.．%％万亿个年月日第五十二三百千零两 GABC[]【】()\n", max_size=40))
def test_extract_figures_spans_point_into_the_text_as_given(text):
    for figure in extract_figures(text):
        assert text[figure.start : figure.end] == figure.text
        assert isinstance(figure.value, Decimal)


@pytest.mark.parametrize(
    ("written", "passage"),
    [
        ("3.5万", "35000"),
        ("35000", "3.5万"),
        ("1.2亿", "12000万"),
        ("12000万", "1.2亿"),
        ("1324.9亿元", "13249000万元"),
        ("1324.9亿元", "132,490,000,000元"),
        ("132.49 billion yuan", "1324.9亿元"),
        ("3000家", "三千家"),
        ("二十六个", "26个"),
        ("2个", "两个"),
        ("50%", "五成"),
        ("3%", "百分之三"),
        ("800,000", "近80万"),
        ("0.3个百分点", "同比分别提高1.5个和0.3个百分点"),
        ("1.5个百分点", "同比分别提高1.5个和0.3个百分点"),
        ("１３２４．９亿元", "1324.9亿元"),
    ],
)
def test_verify_answer_matches_a_figure_written_another_way(written, passage):
    assert verify_answer(f"湖州的这项数据为{written}[1]。", [passage]).ok


@pytest.mark.parametrize(
    ("written", "passage"),
    [
        ("1325亿元", "1324.9亿元"),  # rounded is not the same figure
        ("3%", "增长3个"),  # a percent is not a bare number
        ("3", "增长3%"),
        ("3个百分点", "增长3%"),  # percentage points are not percent
        ("3.5万", "3500"),
        ("1.3249万亿元", "1324.9亿元"),
    ],
)
def test_verify_answer_flags_a_figure_that_only_looks_alike(written, passage):
    verification = verify_answer(f"湖州的这项数据为{written}[1]。", [passage])
    assert not verification.ok
    assert [u.figure for u in verification.unsupported_figures] == [written]


@pytest.mark.parametrize(
    ("answer", "passages"),
    [
        ("去年全市规上工业增加值1324.9亿元，同比增长3%[1]。", [INDUSTRY]),
        ("截至5月底，湖州建设5G基站773个，完成投资6672.4万元。[1]", [FIVE_G]),
        ("近80万重症患者得到有效救治[1]。", [HEALTH]),
        ("数字经济核心产业拉动规上工业增长22.3个百分点[2]。", [INDUSTRY, DIGITAL]),
        ("高技术制造业和数字经济核心制造业比重同比分别提高1.5个和0.3个百分点[1]。", [SHARES]),
        ("湖州跻身中国百强城市榜第46位[1]。", [RANKING]),
        ("规上工业增加值1324.9亿元[1]，建设5G基站773个[2]。", [INDUSTRY, FIVE_G]),
        ("增加值1324.9亿元，同比增长3%。[1]建设5G基站773个。[2]", [INDUSTRY, FIVE_G]),
        ("增加值1324.9亿元[1][2]。", [FIVE_G, INDUSTRY]),
        ("2013年以来，湖州建设5G基站773个[1]。", [FIVE_G]),
        ("Huzhou built 773 5G base stations [1].", [FIVE_G]),
        ("Huzhou built 773 5G base stations. [1] Industrial value added grew 3% [2].", [FIVE_G, INDUSTRY]),
        ("By the end of May, 66.724 million yuan had been invested in 5G [1].", [FIVE_G]),
        ("综上所述：\n1. 规上工业增加值1324.9亿元[1]；\n2. 同比增长3%。[1]", [INDUSTRY]),
    ],
)
def test_verify_answer_accepts_an_answer_whose_figures_are_in_its_citations(answer, passages):
    verification = verify_answer(answer, passages)
    assert verification.ok, verification
    assert verification.unsupported_figures == verification.invalid_citations == verification.uncited_sentences == []


def test_verify_answer_flags_an_invented_figure():
    answer = "去年全市规上工业增加值1325亿元，同比增长3%[1]。"
    verification = verify_answer(answer, [INDUSTRY])
    assert not verification.ok
    [unsupported] = verification.unsupported_figures
    assert (unsupported.figure, unsupported.sentence, unsupported.cited) == ("1325亿元", answer, [1])
    assert answer[unsupported.start :].startswith("1325亿元")


@pytest.mark.parametrize(
    ("answer", "figure", "cited"),
    [
        ("湖州建设5G基站773个[1]。", "773个", [1]),  # 773 is in passage 2, which this sentence does not cite
        ("增加值1324.9亿元[1]。建设5G基站773个[1]。", "773个", [1]),
        ("增加值1324.9亿元。[2]建设5G基站773个[2]。", "1324.9亿元", [2]),
    ],
)
def test_verify_answer_flags_a_figure_from_a_passage_the_sentence_does_not_cite(answer, figure, cited):
    verification = verify_answer(answer, [INDUSTRY, FIVE_G])
    assert [(u.figure, u.cited) for u in verification.unsupported_figures] == [(figure, cited)]


def test_verify_answer_flags_uncited_figures_as_unsupported_and_their_sentence_as_uncited():
    verification = verify_answer("湖州建设5G基站773个。", [FIVE_G])
    assert [(u.figure, u.cited) for u in verification.unsupported_figures] == [("773个", [])]
    assert verification.uncited_sentences == ["湖州建设5G基站773个。"]


@pytest.mark.parametrize(
    ("answer", "markers", "reason"),
    [
        ("建设5G基站773个[3]。", ["[3]"], "out_of_range"),
        ("建设5G基站773个[0]。", ["[0]"], "out_of_range"),
        ("建设5G基站773个[1,3]。", ["[1,3]"], "out_of_range"),
        ("建设5G基站773个【3】。", ["【3】"], "out_of_range"),
        ("建设5G基站773个【2】。", ["【2】"], "malformed"),
        ("建设5G基站773个[1, 2]。", ["[1, 2]"], "malformed"),
        ("建设5G基站773个（2）。", ["（2）"], "malformed"),
        ("建设5G基站773个[2-1]。", ["[2-1]"], "malformed"),
    ],
)
def test_verify_answer_reports_invalid_citations(answer, markers, reason):
    verification = verify_answer(answer, [INDUSTRY, FIVE_G])
    assert not verification.ok
    assert [(c.marker, c.reason) for c in verification.invalid_citations] == [(m, reason) for m in markers]
    assert verification.uncited_sentences == []


def test_verify_answer_still_checks_figures_against_a_malformed_marker():
    assert verify_answer("建设5G基站773个【2】。", [INDUSTRY, FIVE_G]).unsupported_figures == []
    assert [u.figure for u in verify_answer("建设5G基站773个【1】。", [INDUSTRY, FIVE_G]).unsupported_figures] == [
        "773个"
    ]


@pytest.mark.parametrize(
    ("answer", "repaired"),
    [
        ("增长3%【1】。", "增长3%[1]。"),
        ("增长3%［1］。", "增长3%[1]。"),
        ("增长3%〔1〕。", "增长3%[1]。"),
        ("增长3%[１]。", "增长3%[1]。"),
        ("增长3%[ 1 ]。", "增长3%[1]。"),
        ("增长3%[1,2]。", "增长3%[1][2]。"),
        ("增长3%[1，2]。", "增长3%[1][2]。"),
        ("增长3%[1、2]。", "增长3%[1][2]。"),
        ("增长3%[1-2]。", "增长3%[1][2]。"),
        ("增长3%[2,1,2]。", "增长3%[2][1]。"),
        ("增长3%【1】【2】。", "增长3%[1][2]。"),
        ("增长3%(1)。", "增长3%[1]。"),
        ("增长3%（1）。", "增长3%[1]。"),
        ("grew 3% (2).", "grew 3% [2]."),
        ("grew 3% [Passage 1].", "grew 3% [1]."),
        ("grew 3% [^1].", "grew 3% [1]."),
        ("增长3%[1][2]。", "增长3%[1][2]。"),
        ("增长3%[3]。", "增长3%[3]。"),  # not a passage: left for verify_answer to report
        ("增长3%【3】。", "增长3%【3】。"),
        ("增长3%[1,3]。", "增长3%[1,3]。"),
        ("(1) 增长3%[1]。", "(1) 增长3%[1]。"),  # a list item, not a citation
        ("十四五规划（2021-2025）。", "十四五规划（2021-2025）。"),
    ],
)
def test_repair_citations_normalises_markers_of_given_passages(answer, repaired):
    assert repair_citations(answer, 2) == repaired


def test_repair_citations_makes_a_malformed_answer_verify():
    answer = "增加值1324.9亿元【1】，建设5G基站773个［2］。增长3%（1）。"
    assert not verify_answer(answer, [INDUSTRY, FIVE_G]).ok
    repaired = repair_citations(answer, 2)
    assert repaired == "增加值1324.9亿元[1]，建设5G基站773个[2]。增长3%[1]。"
    assert verify_answer(repaired, [INDUSTRY, FIVE_G]).ok


@given(st.text(alphabet="增长3%12[]【】［］(（)）,，、- 。\n", max_size=30), st.integers(0, 3))
def test_repair_citations_is_idempotent(answer, n_passages):
    once = repair_citations(answer, n_passages)
    assert repair_citations(once, n_passages) == once


@pytest.mark.parametrize(
    ("answer", "uncited"),
    [
        ("湖州的数字经济发展很快。", ["湖州的数字经济发展很快。"]),
        ("建设5G基站773个[1]。湖州的数字经济发展很快，形成了新格局。", ["湖州的数字经济发展很快，形成了新格局。"]),
        ("增长3%；建设5G基站773个[1]。", ["增长3%；"]),  # ； ends a sentence
        ("Huzhou is growing fast in the digital economy.", ["Huzhou is growing fast in the digital economy."]),
        ("建设5G基站773个[1]。\n湖州的数字经济发展很快", ["湖州的数字经济发展很快"]),
    ],
)
def test_verify_answer_reports_claims_that_cite_nothing(answer, uncited):
    verification = verify_answer(answer, [FIVE_G])
    assert verification.uncited_sentences == uncited
    assert not verification.ok


@pytest.mark.parametrize(
    "answer",
    [
        "资料中没有找到湖州2023年5G基站数量的相关信息。",
        "所提供的资料未提及这一问题。",
        "The passages do not say how many 5G base stations Huzhou built in 2023.",
        "This is not in the corpus.",
        "综上所述，建设5G基站773个[1]。",
        "具体如下：\n- 建设5G基站773个[1]。",
        "## 结论\n建设5G基站773个[1]。",
        "总的来说。建设5G基站773个[1]。",
        "",
    ],
)
def test_verify_answer_needs_no_citation_for_a_non_answer_or_a_connective(answer):
    verification = verify_answer(answer, [FIVE_G])
    assert verification.ok, verification


@pytest.mark.parametrize(
    ("answer", "cited"),
    [
        ("增长3%。[1]", [1]),  # after the full stop
        ("增长3%[1]。", [1]),  # before it
        ("增长3%。 [1] [2]", [1, 2]),
        ("增长3%。\n[1]", [1]),  # on a line of its own
        ("增长3%”。[1]", [1]),
    ],
)
def test_verify_answer_gives_markers_after_the_stop_to_the_sentence_before(answer, cited):
    verification = verify_answer(answer.replace("3%", "5%"), [INDUSTRY, FIVE_G])
    assert [u.cited for u in verification.unsupported_figures] == [cited]
    assert verification.uncited_sentences == []
    assert verify_answer(answer, [INDUSTRY, INDUSTRY]).ok


@pytest.mark.parametrize(
    ("answer", "passages", "echoed", "reason"),
    [
        ("规上工业增加值1324.9亿元[1]。", ["规上工业增加值1324.9亿元"], False, None),
        (
            "规上工业增加值1324.9亿元。",
            ["规上工业增加值1324.9亿元"],
            False,
            "the LLM's answer cited nothing and stated 1 figure not in the passages",
        ),
        (
            "增加值1500亿元[1]，增长9%[1]。",
            ["增加值1324.9亿元"],
            False,
            "the LLM's answer stated 2 figures not in the passages it cites",
        ),
        (
            "全市规上工业增加值创下新高，增长较快[1]。另有多家企业表现亮眼，值得关注。",
            ["增加值1324.9亿元"],
            False,
            None,
        ),
        ("增加值1324.9亿元[1]", ["增加值1324.9亿元"], True, "the LLM's answer echoed the prompt's passage blocks"),
    ],
)
def test_rejection_reason_names_what_makes_an_answer_unfit(
    answer: str, passages: list[str], echoed: bool, reason: str | None
) -> None:
    verification = verify_answer(answer, passages)
    cited = len(set(re.findall(r"\[(\d+)\]", answer)))
    assert rejection_reason(verification, cited, echoed) == reason


@pytest.mark.parametrize(
    ("answer", "ok", "correct"),
    [
        ("2013年盘活3.2万亩，2014年计划4万亩[1]；计划比上年多出4万亩-3.2万亩=0.8万亩[1]。", True, [True]),
        ("吴兴园区有94个项目、南浔园区有40个[1]，合计94+40=134个[1]。", True, [True]),
        ("吴兴园区有94个项目、南浔园区有40个[1]，合计94+40=144个[1]。", False, [False]),
        ("计划比上年增长0.8万亩÷3.2万亩=25%[1]。", False, [True]),  # right, but 0.8万 is in no passage
        ("计划比上年增长(4万亩-3.2万亩)÷3.2万亩=25%[1]。", True, [True]),
        ("计划比上年增长4万亩-3.2万亩÷3.2万亩=25%[1]。", False, [False]),  # without the brackets it is wrong
        ("人均约1.2亿÷3000万=4元[1]。", False, [True]),  # right arithmetic, but no passage holds 1.2亿 or 3000万
        ("约为94×40=3760个[1]。", True, [True]),
        ("比值4万÷3.2万=1.3[1]。", True, [True]),  # 1.25 written to one decimal
    ],
)
def test_verify_accepts_a_computed_figure_only_when_its_arithmetic_and_operands_check_out(
    answer: str, ok: bool, correct: list[bool]
) -> None:
    passages = ["盘活存量建设用地3.2万亩，2014年计划盘活4万亩。吴兴园区94个项目，南浔园区40个项目。"]
    verification = verify_answer(answer, passages)
    assert [c.correct for c in verification.computations] == correct
    assert verification.ok is ok
