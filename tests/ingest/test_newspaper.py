"""OCR'd newspaper pages (000, 001, 002): real articles with their real headlines."""

from __future__ import annotations

import pytest

from rag.models import Article


def find(articles: tuple[Article, ...], needle: str) -> Article:
    matches = [a for a in articles if needle in a.text]
    assert len(matches) == 1, f"{needle!r} found in {len(matches)} articles"
    return matches[0]


@pytest.fixture
def page0(seeds):
    return seeds["000_b906d9a3be0f9243.txt"].articles


@pytest.fixture
def page1(seeds):
    return seeds["001_f3414c5a51445fce.txt"].articles


@pytest.fixture
def page2(seeds):
    return seeds["002_73bfd24cb0fa9e4c.txt"].articles


def test_newspaper_greenway_article_gets_its_headline_printed_after_the_body(page0):
    greenway = find(page0, "龙山健康绿道")
    assert greenway.title == "串联诗意生活 集纳绿色智慧"
    assert greenway.subtitle == "今年全市绿道总长将突破1000公里"
    assert greenway.reporters == ("徐震",)
    assert "计划新增绿道44公里" in greenway.text
    assert "齐北社区绿道等31公里" in greenway.text


def test_newspaper_xiaogedai_article_has_no_printed_headline_and_keeps_its_body(page0):
    loan = find(page0, "小个贷")
    assert loan.title == ""  # the page does not print one; nothing is made up
    assert loan.display_title.startswith("“前两天")
    assert loan.reporters == ("张翔",)
    assert "4大类26项具体量化的帮扶措施" in loan.text
    assert "湖州为什么最江南" not in loan.text


def test_newspaper_teaser_for_another_page_is_its_own_entry(page0):
    teaser = next(a for a in page0 if a.kind == "teaser")
    assert teaser.title == "湖州为什么最江南？"
    assert teaser.text == ""


def test_newspaper_joins_lines_and_removes_spaces_inside_numbers(page0):
    park = find(page0, "莫干山高新区工业倍增升级")
    assert park.title == "项目跑赢进度表 发展驶入快车道"
    assert park.subtitle == "莫干山高新区“六百攻坚”为工业倍增升级添动力"
    assert "固定资产总投资83.6亿元，超时序进度" in park.text
    assert "在建亿元以上产业项目达57个" in park.text
    assert "Mini/Micro LED" in park.text
    assert "\n" not in park.text.split("\n\n")[0]


def test_newspaper_5g_figures_are_in_the_digital_economy_article(page0):
    digital = find(page0, "建设5G基站773个")
    assert digital.title == "我市多点布局数字经济“弯道超车”"
    assert "5G建设完成投资6672.4万元" in digital.text


def test_newspaper_photo_captions_are_short_articles_with_their_credit(page0, page2):
    landmark = find(page0, "新材料屋面板")
    assert (landmark.kind, landmark.title, landmark.reporters) == ("photo", "新地标 拔地起", ("李则名",))
    launch = find(page0, "问天实验舱")
    assert (launch.kind, launch.title, launch.publication) == ("photo", "我国首个科学实验舱发射成功", "新华社")
    ducks = find(page2, "中华秋沙鸭")
    assert (ducks.kind, ducks.title, ducks.reporters) == ("photo", "“老朋友”又来了", ("夏鹏飞",))


def test_newspaper_wrapped_headline_is_one_title(page0):
    fraud = find(page0, "反电信网络诈骗工作评价规范")
    assert fraud.title == "全国首个反诈工作评价领域地方标准发布"


def test_newspaper_page_jump_marks_are_dropped_only_as_marks(page0):
    trade = find(page0, "跨境电商")
    assert "下转" not in trade.text
    assert "▲" not in trade.text
    assert trade.text.endswith("项目，")


def test_newspaper_doubled_bold_headline_becomes_one_kicker(page1):
    wang = find(page1, "环浙工大创新经济圈")
    assert wang.kicker == "王波在“环浙工大创新经济圈”工作例会上强调"
    assert wang.title == "增强紧迫感 找准发力点"
    assert wang.reporters == ("徐超超", "蔡俊")


def test_newspaper_headline_printed_far_from_its_body_is_matched_by_content(page1):
    village = find(page1, "数字乡村发展")
    assert village.title == "梳理德清模式 总结浙江经验"
    assert village.subtitle == "数字乡村发展研讨会暨浙江省信息化智库联盟专家行在我县召开"
    assert village.reporters == ("沈烨冰",)
    talent = find(page1, "激光切割")
    assert talent.title == "4个高层次人才创业项目签约落户高新区"
    assert talent.reporters == ("倪忆雪",)


def test_newspaper_brief_signed_at_its_end_is_split_from_the_article_before(page1):
    drill = find(page1, "军事日")
    assert drill.reporters == ("徐超超", "姚海翔")
    assert drill.text.startswith("昨天下午")
    assert "激光切割" not in drill.text


def test_newspaper_wire_stories_name_xinhua(page2):
    meeting = find(page2, "新冠疫情防控工作情况汇报")
    assert meeting.publication == "新华社"
    assert meeting.title == "习近平主持中央政治局常务委员会会议"
    assert "近80万重症患者得到有效救治" in meeting.text


def test_newspaper_section_headings_stay_inside_their_article(page2):
    ledger = find(page2, "规上工业增加值1324.9亿元，同比增长3%")
    assert ledger.title == "晒一晒我们的“奋进账本”——"
    assert "创谷为媒" in ledger.text and "质效为尺" in ledger.text
    assert ledger.reporters == ("邵鼎",)


@pytest.mark.parametrize("name", ["000_b906d9a3be0f9243.txt", "001_f3414c5a51445fce.txt"])
def test_newspaper_every_article_has_a_sensible_title(seeds, name):
    for article in seeds[name].articles:
        assert 2 <= len(article.display_title) <= 41, article.id
