"""The digest (003): titles from headings, publication from "摘自《X日报》", cities kept apart."""

from __future__ import annotations

import pytest


@pytest.fixture
def digest(seeds):
    return {a.title: a for a in seeds["003_5f0dfba9933f395f.txt"].articles}


def test_digest_jinhua_trade_piece_is_attributed_to_jinhua(digest):
    jinhua = digest["外贸根基稳固韧性足"]
    assert jinhua.publication == "金华日报"
    assert jinhua.subtitle == "上半年进出口总值超3000亿元，出口规模居全省第二"
    assert "金华市共实现外贸进出口总值3205.7亿元" in jinhua.text


def test_digest_huzhou_article_keeps_its_lead_in_and_sections(digest):
    huzhou = digest["揭开数字湖州“出圈”奥秘"]
    assert huzhou.publication == "湖州日报"
    assert huzhou.kicker.startswith("数字经济的效能已深入社会发展方方面面")
    assert "经济发展注入“数字之核”" in huzhou.text
    assert "“光电湾”" in huzhou.text
    assert "杭州" not in huzhou.title


def test_digest_kicker_heading_before_title(digest):
    hangzhou = digest["杭州差异化探索建设数字自贸区"]
    assert hangzhou.kicker == "紧扣“三区一中心”功能定位"
    assert hangzhou.publication == "杭州日报"
    assert "杭州已有283个海外仓" in hangzhou.text


def test_digest_headline_printed_after_the_last_piece_goes_to_the_untitled_piece(digest):
    jiaxing = digest["嘉兴水运发展稳进提质 实现“半年红”"]
    assert jiaxing.publication == "嘉兴日报"
    assert jiaxing.kicker == "累计完成投资109.9亿元，同比增长28.4%"
    assert jiaxing.text.startswith("记者日前从嘉兴市市港航中心了解到")


def test_digest_photo_piece(digest):
    port = digest["繁忙的芜湖港"]
    assert (port.kind, port.publication) == ("photo", "芜湖日报")


def test_digest_every_piece_has_a_publication(seeds):
    assert all(a.publication for a in seeds["003_5f0dfba9933f395f.txt"].articles)
