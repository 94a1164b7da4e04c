"""Extractive answers on the real index (no LLM), and the pieces that decide them: condensing, places, evidence."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from rag.answer import Answer, Answerer
from rag.answerability import (
    NATIONAL,
    covers_year,
    is_foreign,
    judge,
    mentions,
    named_years,
    other_places,
    publication_place,
    question_places,
)
from rag.config import Settings
from rag.embedding import get_embedder
from rag.evidence import (
    FOCUS_BOOST,
    Counted,
    Question,
    Sentence,
    analyse_question,
    counted_things,
    names,
    rank_sentences,
)
from rag.generate.condense import condense_by_rule, needs_condensing
from rag.generate.extractive import (
    HEADER,
    MAX_RELATED,
    NOT_IN_CORPUS,
    RELATED,
    choose_sentences,
    compose,
    related_sentences,
)
from rag.models import Passage
from rag.store import open_store

PLACES = ["合肥", "嘉兴", "杭州", "湖州", "芜湖", "金华"]  # the index's city papers
HOME = "湖州"
_CITED_LINE = re.compile(r"\[(\d+)\]$")


@pytest.fixture
def answerer(settings: Settings) -> Iterator[Answerer]:
    with open_store(settings) as index:
        yield Answerer(settings, index, get_embedder(settings))


def _body_lines(answer: Answer) -> list[str]:
    return answer.answer.splitlines()[1:]


def _passage(text: str = "", publication: str | None = "湖州日报", **fields: Any) -> Passage:
    values: dict[str, Any] = {
        "rank": 1,
        "score": 1.0,
        "chunk_id": "c1",
        "article_id": "a1",
        "title": "",
        "source_file": "000.txt",
        "date": None,
    }
    return Passage(**(values | fields), publication=publication, text=text)


# --- answers on the real index ---------------------------------------------------------------------------------------


def test_extractive_answer_quotes_the_figure_with_a_citation_on_every_line(answerer: Answerer) -> None:
    answer = answerer.ask("去年湖州规上工业增加值是多少？")

    assert answer.mode == "extractive"
    assert answer.fallback_reason is None
    assert answer.answerable
    assert answer.answer.splitlines()[0] == HEADER["zh"]
    assert "1324.9" in answer.answer
    lines = _body_lines(answer)
    assert lines
    for line in lines:
        cited = _CITED_LINE.search(line)
        assert cited, line
        assert line.removesuffix(cited.group()).strip() in answer.passages[int(cited.group(1)) - 1].text
    assert len(set(lines)) == len(lines)
    assert answer.verification.ok, answer.verification
    assert answer.citations and answer.reason == ""


def test_extractive_answer_to_an_english_question_cites_the_figure(answerer: Answerer) -> None:
    answer = answerer.ask("By the end of May, how many 5G base stations had Huzhou built?")

    assert answer.answerable
    assert answer.answer.splitlines()[0] == HEADER["en"]
    [line] = [line for line in _body_lines(answer) if "773" in line]
    cited = _CITED_LINE.search(line)
    assert cited
    assert "773" in answer.passages[int(cited.group(1)) - 1].text
    assert answer.verification.ok


def test_another_citys_figure_is_not_given_as_huzhous(answerer: Answerer) -> None:
    """The corpus counts overseas warehouses only for 杭州 (《杭州日报》: "杭州已有283个海外仓")."""
    answer = answerer.ask("湖州已有多少个海外仓？")

    assert any(p.publication == "杭州日报" and "283" in p.text for p in answer.passages), "the trap is retrieved"
    assert not answer.answerable and answer.reason
    # The Hangzhou figure may be shown as related, never as an answer: only under the related line, named as 杭州's.
    shown = [line for line in answer.answer.splitlines() if "283" in line]
    assert all(line.startswith("《杭州日报》：") for line in shown)
    assert answer.answer.splitlines()[1] == RELATED["zh"] if shown else True


def test_a_question_about_a_place_no_article_found_names_is_refused(answerer: Answerer) -> None:
    answer = answerer.ask("北京今年GDP是多少？")  # the corpus gives GDP figures, none for 北京

    assert not answer.answerable
    assert "北京" in answer.reason
    assert answer.answer.startswith(NOT_IN_CORPUS["zh"])


def test_a_place_within_home_that_the_article_names_is_answered(answerer: Answerer) -> None:
    answer = answerer.ask("截至目前，莫干山高新区在建亿元以上产业项目有多少个？")  # the chunk itself says 高新区

    assert answer.answerable, answer.reason


@pytest.mark.parametrize(
    ("question", "computed"),
    [
        ("2013年湖州外贸进出口总额中，除出口以外的部分有多少亿美元？", "95.3亿美元-80.9亿美元=14.4亿美元"),
        ("2013年湖州农村居民人均纯收入比城镇居民人均可支配收入低多少元？", "36220元-19044元=17176元"),
        ("2014年湖州力争省外浙商回归到位资金和央企合作实到资金，两项一共多少亿元？", "160亿元+30亿元=190亿元"),
    ],
)
def test_a_difference_or_sum_of_two_rows_is_stated_cited_and_verified(
    answerer: Answerer, question: str, computed: str
) -> None:
    answer = answerer.ask(question)

    assert answer.answerable, answer.reason
    [line] = [line for line in _body_lines(answer) if computed in line]
    assert _CITED_LINE.search(line), line
    assert answer.verification.ok, answer.verification
    assert [c.correct for c in answer.verification.computations] == [True]


def test_a_difference_with_one_part_not_found_says_which_part_is_missing(answerer: Answerer) -> None:
    answer = answerer.ask("2013年湖州出口比进口多多少亿美元？")  # the report gives 出口 and 进出口总额, no 进口

    [line] = [line for line in answer.answer.splitlines() if line.startswith("无法计算")]
    assert "进口" in line and "80.9亿美元" in line and _CITED_LINE.search(line)
    assert "=" not in answer.answer
    assert answer.verification.ok, answer.verification


@pytest.mark.parametrize(
    ("question", "places"),
    [
        ("上海迪士尼乐园去年接待了多少游客？", ["上海"]),
        ("北京今年GDP是多少？", ["北京"]),
        ("湖州市区PM2.5年均浓度是多少？", []),  # home
        ("杭州已有多少个海外仓？", []),  # a publication's place
        ("去年规上工业增加值是多少？", []),
    ],
)
def test_other_places_are_the_named_places_beyond_home_and_the_publications(question: str, places: list[str]) -> None:
    assert other_places(question, PLACES, HOME) == places


@pytest.mark.parametrize(
    ("text", "place", "named"),
    [
        ("德清面向未来", "德清县", True),
        ("德清县委", "德清县", True),
        ("长兴县建设局", "上海", False),
        ("湖", "湖州", False),
        ("俄罗斯外籍院士", "俄国", True),  # another name of the place, by CC-CEDICT's gloss ("Russia")
        ("俄罗斯外籍院士", "德国", False),
    ],
)
def test_mentions_takes_a_place_with_or_without_its_suffix(text: str, place: str, named: bool) -> None:
    assert mentions(text, place) is named


# Says in other words what "大学生、退役军人等获得创业担保贷款支持125户" says.
PARAPHRASE = "湖州给上了大学的年轻人和当过兵的人开办买卖提供担保借款，帮了多少户？"


def test_a_paraphrase_is_answered_from_the_sentence_it_rewords(answerer: Answerer) -> None:
    answer = answerer.ask(PARAPHRASE)

    assert answer.answerable and "125户" in answer.answer
    assert answer.verification.ok


@pytest.mark.parametrize(
    ("question", "figure"),
    [
        # "新增血透机60台" in the 2014 work report (004), below a sentence about 工业机器人 from an undated page: the
        # year check skips the sentence whose article does not name 2014.
        pytest.param(
            "为了方便尿毒症病人做透析，湖州2014年准备添置多少台透析机器？", "60台", id="year-named-lower-down"
        ),
        # "整合4000家外协厂产能" (004): 代加工 is the asker's word, which the corpus never uses; 家 counts.
        pytest.param(
            "织里镇的共享工厂试点，把多少家代加工小作坊的产能拉了进来？", "4000家", id="qualifier-of-the-asker"
        ),
        # "杭州已有283个海外仓" (003, 杭州日报): the question names Hangzhou, and the compound 海外仓 is its head 仓.
        pytest.param("杭州现已建成多少个海外仓？", "283个", id="compound-named-in-full"),
    ],
)
def test_a_reworded_figure_question_is_answered_from_the_sentence_that_states_it(
    answerer: Answerer, question: str, figure: str
) -> None:
    answer = answerer.ask(question)

    assert answer.answerable, answer.reason
    assert figure in answer.answer.splitlines()[1]
    assert answer.verification.ok


# Answered by meaning, then confirmed by the figures table's row ("facts_row"); refused for the words it lacks.
@pytest.mark.parametrize(
    ("min_similarity", "answerable", "basis"), [(0.8, True, "facts_row"), (1.01, False, "coverage")]
)
def test_a_question_short_of_words_is_answered_by_meaning_when_near_enough(
    settings: Settings, min_similarity: float, answerable: bool, basis: str
) -> None:
    # No sentence holds 99% of any question's words: only meaning can answer.
    strict = settings.model_copy(update={"answerable_min_coverage": 0.99, "paraphrase_min_similarity": min_similarity})
    with open_store(strict) as index:
        answerer = Answerer(strict, index, get_embedder(strict))
        found = answerer.retrieve("去年湖州规上工业增加值是多少？", 5)
        answer = answerer.ask("去年湖州规上工业增加值是多少？")

    assert (found.answerability.answerable, found.answerability.basis) == (answerable, basis)
    assert answer.answerable == answerable
    assert ("1324.9" in answer.answer.split("相关但不是答案")[0]) == answerable


def test_a_question_naming_the_other_city_is_answered_from_its_paper(answerer: Answerer) -> None:
    answer = answerer.ask("杭州已有多少个海外仓？")

    assert answer.answerable
    assert "283" in answer.answer
    assert any(c.publication == "杭州日报" for c in answer.citations)


@pytest.mark.parametrize(
    "question",
    [
        pytest.param("今年以来，莫干山高新区实际利用外资多少？", id="da-013-no-such-figure"),
        pytest.param("2013年湖州全社会用电量是多少亿千瓦时？", id="db-004-no-such-figure"),
        pytest.param("湖州有多少新冠重症患者得到有效救治？", id="da-014-national-figure"),
        pytest.param("2021年湖州生物医药企业主营业务收入约为多少亿元？", id="db-013-hefei-figure"),
        pytest.param("截至5月底，湖州全市5G用户数达到多少？", id="da-012-figures-of-other-things"),
        pytest.param("2013年湖州市区PM2.5年均浓度是多少？", id="db-012-no-such-figure"),
        pytest.param("湖州企业共掌握了多少项国家“卡脖子”技术？", id="da-015-one-of-a-set"),
        pytest.param("2015年湖州地区生产总值是多少？", id="a-year-no-article-covers"),
        pytest.param("去年湖州新增省级众创空间多少家？", id="national-not-provincial"),
        # 004 has "6个海外招商联络处" and 003 Hangzhou's 海外仓: a 海外仓 is a 仓, and no article counts Huzhou's.
        pytest.param("截至目前湖州拥有多少个海外仓？", id="compound-with-another-head"),
        # 000's "总投资3.5亿元的乐博透平机械…项目" is not 西塞科学谷's; 002's long article names the 谷 and another
        # project's 总投资12亿元 three chunks apart: a later sentence must name the place in its own passage.
        pytest.param("西塞科学谷项目总共投资多少亿元？", id="place-named-elsewhere-in-a-long-article"),
    ],
)
def test_unanswerable_question_is_refused_with_a_reason(answerer: Answerer, question: str) -> None:
    answer = answerer.ask(question)

    assert not answer.answerable
    assert answer.reason
    assert answer.answer.splitlines()[:2] == [NOT_IN_CORPUS["zh"], RELATED["zh"]]
    assert len(answer.citations) <= MAX_RELATED
    assert answer.verification.ok


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("截至5月底，湖州全市5G用户数达到多少？", "no passage states a figure of 用户数"),
        ("湖州企业共掌握了多少项国家“卡脖子”技术？", "the closest sentence states no figure of 技术"),
        ("2015年湖州地区生产总值是多少？", "the best passage's article does not mention 2015年"),
    ],
)
def test_a_refusal_says_what_the_passages_lack(answerer: Answerer, question: str, reason: str) -> None:
    assert answerer.ask(question).reason == reason


@pytest.mark.parametrize(
    ("question", "named"),
    [
        # The city's 773 base stations are not a district's: the refusal names the figure it found, and whose it is.
        ("南浔区到5月底一共建了几个5G基站？", ["湖州", "773个", "南浔区"]),
        # Only 杭州's paper counts overseas warehouses; "6个海外招商联络处" shares the words, not the thing.
        ("湖州一共建了多少个海外仓？", ["杭州"]),
        # A count so far this year is not last year's.
        ("莫干山高新区去年一共签约了几个亿元以上项目？", ["截至目前", "21个", "去年"]),
    ],
)
def test_a_refusal_names_the_row_of_another_place_or_time(answerer: Answerer, question: str, named: list[str]) -> None:
    answer = answerer.ask(question)

    assert not answer.answerable
    assert all(part in answer.reason + answer.answer for part in named), answer.reason
    assert answer.citations


# --- condensing ------------------------------------------------------------------------------------------------------

HISTORY = [
    {"role": "user", "content": "今年湖州规上工业增加值是多少？"},
    {"role": "assistant", "content": "资料中没有找到这个问题的答案。"},
]


@pytest.mark.parametrize(
    ("follow_up", "standalone"),
    [
        ("那去年呢？", "去年湖州规上工业增加值是多少？"),
        ("2013年呢？", "2013年湖州规上工业增加值是多少？"),
        ("那同比增长多少呢？", "今年湖州规上工业增加值是多少？ 同比增长多少"),
        ("2013年湖州全市固定资产投资完成多少？", "2013年湖州全市固定资产投资完成多少？"),
    ],
)
def test_condense_by_rule(follow_up: str, standalone: str) -> None:
    assert condense_by_rule(follow_up, HISTORY) == standalone


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        ("那去年呢？", HISTORY, True),
        ("What about 2013?", HISTORY, True),
        ("多少？", HISTORY, True),  # too few words to stand alone
        ("2013年湖州全市固定资产投资完成多少？", HISTORY, False),
        ("那去年呢？", [], False),  # nothing to condense with
        ("那去年呢？", [{"role": "assistant", "content": "你好"}], False),
    ],
)
def test_needs_condensing(question: str, history: list[dict[str, str]], expected: bool) -> None:
    assert needs_condensing(question, history) is expected


# --- places ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("publication", "place"),
    [
        ("湖州日报", "湖州"),
        ("《金华日报》", "金华"),
        ("杭州日报", "杭州"),
        ("湖州晚报", "湖州"),
        ("新华社", NATIONAL),
        ("人民日报", NATIONAL),
        ("Huzhou Daily", None),
        ("", None),
        (None, None),
    ],
)
def test_publication_place(publication: str | None, place: str | None) -> None:
    assert publication_place(publication) == place


@pytest.mark.parametrize(
    ("question", "places"),
    [
        ("杭州已有多少个海外仓？", {"杭州"}),
        ("湖州和嘉兴的GDP分别是多少？", {"湖州", "嘉兴"}),
        ("全国有多少重症患者得到有效救治？", {NATIONAL}),
        ("去年规上工业增加值是多少？", {HOME}),
        ("How many 5G base stations were built?", {HOME}),
    ],
)
def test_question_places(question: str, places: set[str]) -> None:
    assert question_places(question, PLACES, HOME) == places


@pytest.mark.parametrize(
    ("publication", "text", "places", "foreign"),
    [
        ("杭州日报", "杭州已有283个海外仓。", {HOME}, True),
        ("杭州日报", "湖州与杭州共建海外仓。", {HOME}, False),  # it names the place asked about
        ("杭州日报", "杭州已有283个海外仓。", {"杭州"}, False),
        ("湖州日报", "全市新建5G基站773个。", {HOME}, False),
        (None, "全市新建5G基站773个。", {HOME}, False),  # no publication: assumed local
        ("新华社", "近80万重症患者得到有效救治。", {HOME}, True),
        ("新华社", "近80万重症患者得到有效救治。", {NATIONAL}, False),
    ],
)
def test_is_foreign(publication: str | None, text: str, places: set[str], foreign: bool) -> None:
    assert is_foreign(_passage(text, publication), places) is foreign


# --- evidence and the verdict ----------------------------------------------------------------------------------------


def _same_frequency(words: Iterable[str]) -> dict[str, int]:
    return {word: 10 for word in words}


def test_analyse_question_weighs_the_words_next_to_the_question_word_more() -> None:
    question = analyse_question("在德清县，企业数量有多少？", _same_frequency, 1000)

    assert set(question.weights) == {"德清县", "企业", "数量"}
    assert question.weights["数量"] == pytest.approx(FOCUS_BOOST * question.weights["德清县"])
    assert question.weights["企业"] == question.weights["数量"]
    assert question.wants_figure and not question.cross_lingual


def test_analyse_question_rarer_words_weigh_more() -> None:
    def frequencies(words: Iterable[str]) -> dict[str, int]:
        return {word: 500 if word == "湖州" else 5 for word in words}

    question = analyse_question("湖州绿道长度", frequencies, 1000)

    assert question.weights["绿道"] > question.weights["湖州"]
    assert not question.wants_figure


def test_analyse_question_marks_english_as_cross_lingual() -> None:
    question = analyse_question("How many 5G base stations had Huzhou built?", _same_frequency, 1000)

    assert question.cross_lingual and question.wants_figure


@pytest.mark.parametrize(
    ("question", "counted"),
    [
        ("截至5月底，湖州全市5G用户数达到多少？", [Counted("用户数", None)]),
        ("推出了多少项具体量化的帮扶措施？", [Counted("措施", None)]),
        ("一共汇聚了多少家外包加工户？", [Counted("加工户", "家")]),  # jieba: 加工 + 户, one compound
        ("湖州现在一共有多少个海外仓？", [Counted("海外仓", None)]),  # jieba: 海外 + 仓
        ("全市建设了多少座污水厂？", [Counted("污水厂", "座")]),
        ("今年计划新增绿道多少公里？", [Counted("绿道", None)]),
        ("固定资产投资完成多少？增长多少？", [Counted("投资", None, ("固定资产",)), Counted("增长", None)]),
        ("全市有几家上市公司？", [Counted("上市公司", "家")]),
        ("去年湖州新增省级众创空间多少家？", [Counted("空间", "家", ("省级", "众创"))]),
        ("湖州有多少新冠重症患者得到有效救治？", [Counted("患者", None, ("新冠", "重症"))]),
        ("目前已完成多少公里？", []),  # nothing says what: any figure may answer
        ("省政府批复同意在湖州设立什么？", []),
    ],
)
def test_counted_things_says_what_each_asked_figure_counts(question: str, counted: list[Counted]) -> None:
    assert list(counted_things(question)) == counted


@pytest.mark.parametrize(
    ("text", "thing", "named"),
    [
        ("总长度近10公里", "全长", True),  # a paraphrase sharing half the characters
        ("建设5G基站773个", "用户数", False),
        ("加快双千兆进村入户", "用户数", False),  # one character of three
        ("全市5G用户数达到120万户", "用户数", True),
        ("组建欧盟、东盟等6个海外招商联络处", "海外仓", False),  # two characters of three, but not the head 仓
        ("杭州已有283个海外仓", "海外仓", True),
        ("整合4000家外协厂产能", "小厂", True),  # the head 厂
        ("享受贷款贴息171户", "贷款总额", True),  # the head of 贷款总额 is 款: 总额 says how much of it
    ],
)
def test_names_needs_half_the_characters_of_the_thing(text: str, thing: str, named: bool) -> None:
    assert names(text, thing) is named


def _fits(question: str, sentence: str) -> bool:
    analysed = analyse_question(question, _same_frequency, 1000)
    (ranked,) = rank_sentences(analysed, [_passage(sentence)])
    return ranked.fits


@pytest.mark.parametrize(
    ("question", "sentence", "fits"),
    [
        pytest.param("湖州5G用户数达到多少？", "全市5G用户数达到120万户。", True, id="names-the-thing"),
        pytest.param("湖州5G用户数达到多少？", "5G建设完成投资6672.4万元，建设5G基站773个。", False, id="other-things"),
        pytest.param(
            "湖州5G用户数达到多少？", "数字乡村进村入户，建成试点示范村5个。", False, id="thing-outside-the-clause"
        ),
        pytest.param("共汇聚了多少家外包加工户？", "整合4000家外协厂产能。", True, id="same-measure-word"),
        pytest.param("共汇聚了多少家外包加工户？", "整合外协厂产能4000台。", False, id="other-measure-word"),
        pytest.param("规上工业增加值是多少？", "规上工业增加值：1324.9亿元。", True, id="label-and-figure"),
        pytest.param("新增省级众创空间多少家？", "新增省级众创空间12家。", True, id="qualified-thing"),
        pytest.param("新增省级众创空间多少家？", "新增国家众创空间7家。", False, id="other-qualifier"),
        pytest.param(
            "湖州企业共掌握了多少项国家“卡脖子”技术？",
            "其MEMS射频芯片属于国家35项“卡脖子”技术之一。",
            False,
            id="one-of-a-set",
        ),
        pytest.param(
            "MEMS射频芯片属于国家多少项“卡脖子”技术之一？",
            "其MEMS射频芯片属于国家35项“卡脖子”技术之一。",
            True,
            id="asks-about-the-set",
        ),
        pytest.param(
            "湖州有几家企业入选？", "成为全省首批七个产业大脑之一，带动12家企业入选。", True, id="set-and-own-figure"
        ),
        pytest.param("省政府批复同意设立什么？", "设立湖州市绿色低碳创新综合改革试验区。", True, id="no-figure-asked"),
    ],
)
def test_a_sentence_fits_a_figure_question_when_its_figure_counts_the_thing_asked(
    question: str, sentence: str, fits: bool
) -> None:
    assert _fits(question, sentence) is fits


@pytest.mark.parametrize(
    ("question", "years"),
    [("2013年末湖州全市户籍人口有多少万人？", ["2013"]), ("2013年和2014年湖州GDP各是多少？", ["2013", "2014"]),
     ("湖州去年GDP是多少？", []), ("湖州有2000家企业吗？", [])],
)  # fmt: skip
def test_named_years(question: str, years: list[str]) -> None:
    assert named_years(question) == years


@pytest.mark.parametrize(
    ("text", "date", "year", "covered"),
    [
        ("2013年主要工作", None, "2013", True),
        ("去年全市实现地区生产总值", "2016-01-05", "2015", True),  # a dated article's 去年
        ("今年全市实现地区生产总值", "2016-01-05", "2016", True),
        ("2013年主要工作", "2014-01-05", "2015", False),
        ("全市实现地区生产总值", None, "2015", False),
    ],
)
def test_covers_year(text: str, date: str | None, year: str, covered: bool) -> None:
    assert covers_year(text, date, year) is covered


def _sentence(passage: int, text: str, coverage: float, fits: bool = True) -> Sentence:
    return Sentence(passage=passage, start=0, end=len(text), text=text, coverage=coverage, has_figure=fits, fits=fits)


FIGURE_QUESTION = Question(
    text="湖州已有多少个海外仓？", weights={"海外仓": 1.0}, wants_figure=True, cross_lingual=False
)
THRESHOLDS: dict[str, float] = {"min_coverage": 0.28, "min_similarity": 0.75, "best_similarity": 0.0}
HANGZHOU = _passage("杭州已有283个海外仓。", "杭州日报")


def test_judge_refuses_when_only_another_place_states_the_figure() -> None:
    passages = [HANGZHOU, _passage("织里镇共建海外仓数据共享系统。")]
    sentences = [_sentence(0, HANGZHOU.text, 1.0), _sentence(1, passages[1].text, 0.6, fits=False)]

    verdict = judge(FIGURE_QUESTION, sentences, passages, {0}, **THRESHOLDS)

    assert not verdict.answerable
    assert "杭州" in verdict.reason


def test_judge_refuses_a_local_figure_that_another_place_matches_far_better() -> None:
    passages = [HANGZHOU, _passage("织里镇已组建6个海外招商联络处。")]
    sentences = [_sentence(0, HANGZHOU.text, 1.0), _sentence(1, passages[1].text, 0.5)]

    verdict = judge(FIGURE_QUESTION, sentences, passages, {0}, **THRESHOLDS)

    assert not verdict.answerable
    assert "杭州" in verdict.reason


def test_judge_refuses_a_weak_best_sentence_and_names_what_is_missing() -> None:
    weights = {"利用外资": 3.0, "实际": 1.0}
    question = Question(text="实际利用外资多少？", weights=weights, wants_figure=True, cross_lingual=False)
    passages = [_passage("实际完成投资57亿元。")]

    verdict = judge(question, [_sentence(0, passages[0].text, 0.25)], passages, set(), **THRESHOLDS)

    assert not verdict.answerable
    assert "利用外资" in verdict.reason
    assert verdict.confidence == 0.25


def test_judge_accepts_a_well_covered_local_figure() -> None:
    passages = [HANGZHOU, _passage("湖州已有12个海外仓。")]
    sentences = [_sentence(0, HANGZHOU.text, 1.0), _sentence(1, passages[1].text, 0.9)]

    verdict = judge(FIGURE_QUESTION, sentences, passages, {0}, **THRESHOLDS)

    assert verdict.answerable and verdict.reason == ""
    assert verdict.confidence == 0.9


YEAR_QUESTION = Question(
    text="2014年新增多少台机器？", weights={"机器": 1.0, "新增": 1.0}, wants_figure=True, cross_lingual=False
)
UNDATED = _passage("开设工业机器人等12个特色班次。")
REPORT = _passage("新增血透机60台。", title="2014年湖州市政府工作报告")


@pytest.mark.parametrize(("naming", "answerable"), [({1}, True), (set(), False)])
def test_judge_skips_a_best_sentence_whose_article_does_not_name_the_year_for_a_passage_that_does(
    naming: set[int], answerable: bool
) -> None:
    passages = [UNDATED, REPORT]
    sentences = [_sentence(0, UNDATED.text, 0.6), _sentence(1, REPORT.text, 0.5)]
    unnamed = {0: ["2014年"], 1: [] if naming else ["2014年"]}

    verdict = judge(YEAR_QUESTION, sentences, passages, set(), unnamed=unnamed, naming=naming, **THRESHOLDS)

    assert verdict.answerable is answerable
    assert verdict.confidence == (0.5 if answerable else 0.6)
    assert verdict.basis == ("sentences" if answerable else "unnamed")


def test_judge_without_passages_refuses() -> None:
    verdict = judge(FIGURE_QUESTION, [], [], set(), **THRESHOLDS)

    assert not verdict.answerable and verdict.reason


# --- choosing and composing sentences --------------------------------------------------------------------------------


def test_choose_sentences_skips_excluded_passages_and_prefers_figures() -> None:
    ranked = [
        _sentence(0, "杭州已有283个海外仓。", 1.0),
        _sentence(1, "织里镇共建海外仓数据共享系统。", 0.8, fits=False),
        _sentence(2, "湖州已有12个海外仓。", 0.7),
    ]

    chosen = choose_sentences(FIGURE_QUESTION, ranked, excluded={0})

    assert [s.passage for s in chosen] == [2]


def test_compose_strips_list_numbers_and_cites_each_line() -> None:
    sentences = [_sentence(0, "1. 新建5G基站773个。", 1.0), _sentence(2, "（2）完成投资6672.4万元。", 0.9)]

    assert compose(sentences, "zh") == f"{HEADER['zh']}\n新建5G基站773个。[1]\n完成投资6672.4万元。[3]"


def test_a_refusal_shows_a_sentence_reprinted_in_two_passages_once() -> None:
    reprinted = "去年，全市实现规上工业增加值1324.9亿元。"
    ranked = [_sentence(0, reprinted, 0.9), _sentence(3, reprinted, 0.9), _sentence(1, "湖州新增绿道44公里。", 0.4)]

    shown = related_sentences(ranked)

    assert [s.passage for s in shown] == [0, 1]
