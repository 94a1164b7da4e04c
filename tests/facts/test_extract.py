"""The figures table's rows, read from the real corpus."""

from __future__ import annotations

import pytest

from rag.facts.extract import extract_facts
from rag.facts.models import Fact
from rag.facts.periods import ReferenceDate, has_ended, read_period, resolve
from rag.ingest import LoadedSource
from tests.conftest import SEED_FILES

HOME = "湖州"


@pytest.fixture(scope="module")
def rows(seeds: dict[str, LoadedSource]) -> dict[str, list[Fact]]:
    return {name: [f for a in seeds[name].articles for f in extract_facts(a, HOME)] for name in SEED_FILES}


def _row(rows: list[Fact], text: str, sentence_part: str = "") -> Fact:
    found = [f for f in rows if f.text == text and sentence_part in f.sentence]
    assert found, f"no row {text!r} in a sentence with {sentence_part!r}"
    return found[0]


def test_extract_facts_makes_rows_from_every_source_file(rows):
    for name in SEED_FILES:
        assert len(rows[name]) >= 20, name


def test_extract_facts_offsets_point_into_the_article_text(seeds, rows):
    articles = {a.id: a for source in seeds.values() for a in source.articles}
    for fact in (f for name in SEED_FILES for f in rows[name]):
        text = articles[fact.article_id].text
        assert text[fact.start : fact.end] == fact.text
        assert text[fact.sentence_start : fact.sentence_end] == fact.sentence
        assert fact.sentence_start <= fact.clause_start <= fact.start < fact.end <= fact.clause_end


def test_extract_facts_reads_last_years_industrial_value_added(rows):
    fact = _row(rows["002_73bfd24cb0fa9e4c.txt"], "1324.9亿元")
    assert (fact.indicator, fact.owner, fact.period, fact.kind) == ("规上工业增加值", HOME, "Y-1", "actual")
    assert fact.value == pytest.approx(1324.9e8)
    growth = _row(rows["002_73bfd24cb0fa9e4c.txt"], "3%", "1324.9")
    assert (growth.indicator, growth.measure) == ("规上工业增加值", "growth")


def test_extract_facts_counts_base_stations_up_to_the_end_of_may(rows):
    fact = _row(rows["000_b906d9a3be0f9243.txt"], "773个")
    assert (fact.indicator, fact.period_text, fact.as_of, fact.value) == ("5G基站", "截至5月底", "Y0-05", 773)


def test_extract_facts_gives_a_jinhua_papers_figure_to_jinhua(rows):
    fact = _row(rows["003_5f0dfba9933f395f.txt"], "2848.0亿元")
    assert (fact.owner, fact.indicator) == ("金华", "出口")


def test_extract_facts_reads_the_work_reports_plans_as_targets_of_2014(rows):
    report = rows["004_90004a5f8ebd7398.txt"]
    plan = _row(report, "6200亩")
    done = _row(report, "5129亩")
    assert (plan.indicator, plan.period, plan.kind) == ("存量建设用地", "2014", "target")
    assert (done.indicator, done.period, done.kind) == ("存量建设用地", "2013", "actual")
    assert _row(report, "200公里", "农村联网公路").kind == "target"


def test_extract_facts_reads_a_stated_goal_as_a_target(rows):
    goals = [f for f in rows["004_90004a5f8ebd7398.txt"] if f.text == "180亿元"]
    assert goals and all(f.kind == "target" for f in goals)
    assert all("开发区" in f.owner for f in goals)


def test_extract_facts_flags_credit_granted(rows):
    credit = _row(rows["004_90004a5f8ebd7398.txt"], "50亿元", "品牌贷")
    assert "credit" in credit.flags and "disbursed" not in credit.flags


def test_extract_facts_names_the_district_a_sentence_opens_with(rows):
    assert _row(rows["000_b906d9a3be0f9243.txt"], "136.36亿元").owner == "莫干山高新区"
    assert _row(rows["004_90004a5f8ebd7398.txt"], "12座").owner in ("吴兴区", "吴兴")


@pytest.mark.parametrize(
    ("text", "reference", "period", "as_of"),
    [
        ("去年全市实现", ReferenceDate(2023, 7), "2022", None),
        ("今年上半年", None, "Y0-H1", None),
        ("1至5月，", ReferenceDate(2023), "2023-01..2023-05", None),
        ("截至6月底，", None, "Y0-06", "Y0-06"),
        ("比上年增长", None, None, None),
        ("2013年末", None, "2013-12", "2013-12"),
    ],
)
def test_read_period_labels_time_words(text, reference, period, as_of):
    reading = read_period(text, reference)
    assert (reading.period, reading.as_of) == (period, as_of)


def test_period_resolution_and_end():
    assert resolve("Y-1-H1", ReferenceDate(2023)) == "2022-H1"
    assert has_ended("2013", ReferenceDate(2014, 2)) is True
    assert has_ended("2014", ReferenceDate(2014, 2)) is False
    assert has_ended("2014", None) is None


def test_extract_facts_marks_the_size_of_a_set_the_subject_is_one_of(rows):
    member = _row(rows["002_73bfd24cb0fa9e4c.txt"], "35项")
    assert "set_size" in member.flags


def test_extract_facts_reads_a_programmes_name_as_no_plan(rows):
    # "…“鲲鹏计划”,…给予…500万元奖励" states what a programme gives, "计划新增绿道44公里" what is planned.
    report = rows["004_90004a5f8ebd7398.txt"]
    assert _row(report, "500万元", "鲲鹏计划").kind == "actual"
    assert _row(report, "80万元", "专项计划").kind == "actual"
    assert _row(rows["000_b906d9a3be0f9243.txt"], "44公里").kind == "target"


def test_extract_facts_gives_a_rank_to_who_holds_it_not_where_it_is_counted(rows):
    digest = rows["002_73bfd24cb0fa9e4c.txt"]
    assert _row(digest, "46位", "中国百强城市榜").owner == "湖州"
    assert _row(digest, "30位", "居全国第30位").owner == "湖州"
    assert all(f.owner != "浙江" for f in digest if f.measure == "rank" and "居全省" in f.sentence)


def test_extract_facts_keeps_a_place_word_in_the_thing_counted(rows):
    assert _row(rows["003_5f0dfba9933f395f.txt"], "283个").indicator == "海外仓"
    assert _row(rows["004_90004a5f8ebd7398.txt"], "6个", "海外招商联络处").indicator == "海外招商联络处"


def test_extract_facts_keeps_a_sentences_place_only_for_the_sentences_near_it(rows):
    # In the work report's page-long paragraph "安吉获得…称号。" is an aside; 370家 later on is the city's.
    report = rows["004_90004a5f8ebd7398.txt"]
    assert _row(report, "370家", "纳税超千万元").owner == "湖州"
    # In a news story the sentence after "吴兴区…125户" goes on about 吴兴区.
    assert _row(rows["000_b906d9a3be0f9243.txt"], "171户").owner in ("吴兴区", "吴兴")
