"""Frames matched against the real figures table: the rows that answer, and the slot named when none does."""

from __future__ import annotations

from rag.facts.frames import read_question
from rag.facts.match import match, slots_failed

HOME = "湖州"


def _match(table, question):
    facts, articles, places = table
    return match(read_question(question, HOME, known_places=places), facts, articles)


def test_match_answers_with_the_row_of_the_indicator_asked(table):
    result = _match(table, "去年全市规上工业增加值是多少？")
    assert result.answered and result.answers[0].text == "1324.9亿元"


def test_match_refuses_a_target_for_an_actual_and_says_so(table):
    result = _match(table, "安吉经济开发区上半年实际完成自营出口多少亿元？")
    assert not result.answered
    assert "目标180亿元" in result.reason and "实际完成额" in result.reason
    assert any(m.fact.text == "180亿元" and "kind" in m.failed for m in result.near_misses)


def test_match_refuses_credit_granted_for_loans_paid_out(table):
    result = _match(table, "“品牌贷”已经发放了多少贷款？")
    assert not result.answered
    assert "授信" in result.reason and "50亿元" in result.reason


def test_match_refuses_a_year_the_table_does_not_hold(table):
    result = _match(table, "2016年湖州地区生产总值是多少？")
    assert not result.answered and "2016" in result.reason and "1803.2亿元" in result.reason
    assert _match(table, "2013年湖州地区生产总值是多少？").answers[0].text == "1803.2亿元"


def test_match_does_not_give_another_citys_figure_for_huzhou(table):
    result = _match(table, "湖州数字安防核心产业规模突破了多少亿元？")
    assert not result.answered and "杭州" in result.reason


def test_match_gives_a_jinhua_figure_for_a_jinhua_question(table):
    result = _match(table, "金华上半年出口额是多少？")
    assert result.answered and result.answers[0].text == "2848.0亿元"


def test_match_does_not_give_one_zones_count_for_another(table):
    result = _match(table, "南浔经济开发区已签约亿元以上项目几个？")
    assert all(f.owner != "莫干山高新区" for f in result.answers)
    assert _match(table, "莫干山高新区已签约亿元以上项目几个？").answers[0].text == "21个"


def test_match_computes_a_difference_from_two_rows(table):
    result = _match(table, "今年计划新增绿道多少公里？目前已完成多少公里？还差多少公里？")
    assert [f.text for f in result.operands] == ["44公里", "31公里"]
    assert result.computed == 13 and result.arithmetic == "44-31=13公里"


def test_match_computes_a_sum_over_two_years(table):
    result = _match(table, "2013年盘活存量建设用地多少亩？2014年计划盘活多少亩？两年合计多少亩？")
    assert [f.text for f in result.operands] == ["5129亩", "6200亩"]
    assert result.arithmetic == "5129+6200=11329亩"


def test_match_leaves_questions_without_a_figure_to_sentence_evidence(table):
    result = _match(table, "德清与哪所高校共建了实验室？")
    assert not result.answered and result.reason == ""


def test_match_refuses_a_district_of_another_city_named_as_the_home_places(table):
    result = _match(table, "湖州肥西县今年上半年引进了多少个项目？")
    assert not result.answered and "合肥" in result.reason
    assert _match(table, "湖州吴兴区全区建成了多少座5G智能工厂？").answers[0].text == "12座"


def test_match_does_not_answer_with_the_size_of_a_set(table):
    result = _match(table, "湖州企业掌握了多少项国家“卡脖子”技术？")
    assert all("set_size" not in f.flags for f in result.answers)


def test_match_lets_a_years_report_answer_for_the_year_end(table):
    facts, _, places = table
    reported = next(f for f in facts if f.text == "370家" and "纳税超千万元" in f.sentence)
    assert reported.period == "2013"
    year_end = read_question("截至2013年底，湖州纳税超千万元的企业达到多少家？", HOME, known_places=places)
    assert year_end.period == "2013-12" and "period" not in slots_failed(year_end, reported)
    later = read_question("截至2014年底，湖州纳税超千万元的企业达到多少家？", HOME, known_places=places)
    assert "period" in slots_failed(later, reported)


def test_match_does_not_give_this_years_count_so_far_for_last_year(table):
    result = _match(table, "莫干山高新区去年全年签约了多少个亿元以上项目？")
    assert not result.answered
    assert any(m.fact.text == "21个" and m.failed == ("period",) for m in result.near_misses)


def test_match_wants_the_head_of_the_thing_asked(table):
    result = _match(table, "湖州已经建成多少个海外仓？")
    assert all(f.text != "6个" for f in result.answers)  # 6个海外招商联络处: 海外, not 仓


def test_match_does_not_answer_a_count_with_a_bare_number(table):
    result = _match(table, "莫干山高新区签约的高性能芯片项目有几个？")
    assert all(f.unit for f in result.answers)


# --- two things in one clause (rag.facts.pairs) ----------------------------------------------------------------------


def test_match_computes_a_comparison_of_two_rows_in_one_sentence(table):
    result = _match(table, "2013年湖州农村居民人均纯收入比城镇居民人均可支配收入低多少元？")
    assert sorted(f.text for f in result.operands) == ["19044元", "36220元"]
    assert result.arithmetic == "36220-19044=17176元"


def test_match_computes_a_comparison_of_a_target_and_last_years_actual(table):
    result = _match(table, "2014年计划实到的外资比2013年到位的外资多多少亿美元？")
    assert [(f.text, f.kind) for f in result.operands] == [("11.3亿美元", "target"), ("10.6亿美元", "actual")]
    assert result.arithmetic == "11.3-10.6=0.7亿美元"


def test_match_computes_a_sum_of_two_named_things(table):
    result = _match(table, "2014年湖州力争的省外浙商回归到位资金和央企合作实到资金，两项一共多少亿元？")
    assert result.arithmetic == "160+30=190亿元"


def test_match_computes_a_remainder_from_a_total_and_its_part(table):
    result = _match(table, "2013年湖州外贸进出口总额中，除出口以外的部分有多少亿美元？")
    assert result.arithmetic == "95.3-80.9=14.4亿美元"
    result = _match(table, "截至6月底全市累计建设的城乡绿道里，非省级绿道有多少公里？")
    assert result.arithmetic == "990-358=632公里"


def test_match_keeps_wan_mu_folded_in_a_difference(table):
    result = _match(table, "2013年新增建设用地指标和2014年计划新增的建设用地指标分别是多少？两年差多少万亩？")
    assert [f.text for f in result.operands] == ["2.4万亩", "1.8万亩"]
    assert result.arithmetic == "2.4-1.8=0.6万亩"


def test_match_does_not_subtract_figures_in_different_units(table):
    result = _match(table, "2013年到位的省外浙商回归资金比到位外资多多少？")
    assert [f.text for f in result.answers] == ["144.6亿元", "10.6亿美元"]
    assert result.arithmetic == "" and result.computed is None


def test_match_names_the_part_it_found_when_the_other_has_no_row(table):
    result = _match(table, "2013年湖州出口比进口多多少亿美元？")
    assert not result.answered and "进口" in result.reason
    assert [f.text for f in result.found] == ["80.9亿美元"]  # not 95.3亿美元 of 进出口总额 read as 进口


def test_match_computes_no_remainder_when_the_part_is_not_smaller_than_the_whole(table):
    result = _match(table, "2013年湖州纳税超千万元企业中，非超亿元企业有多少家？")
    assert result.arithmetic == ""  # the rows read are not a whole and its part: no 18-51
