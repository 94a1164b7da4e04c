"""The web scrape (004): blocks of title, body and crawl date; site navigation removed."""

from __future__ import annotations


def test_webscrape_government_work_report(seeds):
    articles = seeds["004_90004a5f8ebd7398.txt"].articles
    report = next(a for a in articles if "政府工作报告" in a.title)
    assert report.title == "【湖州招商引资】2014年湖州市政府工作报告"
    assert (report.date, report.date_kind) == ("2025-09-03", "crawled")
    assert "固定资产投资1070亿元,增长10.2%" in report.text
    assert "新建成居家养老服务照料中心200家" in report.text
    assert report.text.count("\n\n") >= 5  # the one-line body is split at its numbered sections


def test_webscrape_every_block_is_an_article_and_the_footer_is_not(seeds):
    loaded = seeds["004_90004a5f8ebd7398.txt"]
    assert len(loaded.articles) == 10
    assert all(a.date == "2025-09-03" and a.publication is None for a in loaded.articles)
    assert not any("联系我们" in a.text or "点我投稿" in a.title for a in loaded.articles)
    chrome = [loaded.text[r.start : r.end] for r in loaded.removed if r.kind == "site_chrome"]
    assert chrome == ["有想补充的信息?点我投稿", "- 联系我们", "- 企业入驻"]
