"""News pages: the article's text without navigation, ads and comments; title, site, publication date, URL."""

from __future__ import annotations

import pytest

from rag.errors import DocumentFormatError
from rag.ingest import load_source
from rag.ingest.accounting import account
from tests.conftest import MAX_BYTES
from tests.documents import news_page, paragraphs

WEB = "004_90004a5f8ebd7398.txt"
URL = "https://www.hz66.com/2023/0612/1.shtml"


@pytest.fixture(scope="module")
def article(seeds):
    return next(a for a in seeds[WEB].articles if a.title.startswith("湖州工业投资"))


def _load(tmp_path, data: bytes, name: str = "page.html"):
    path = tmp_path / name
    path.write_bytes(data)
    return load_source(path, MAX_BYTES)


def test_html_news_page_gives_the_article_and_its_metadata(tmp_path, article):
    loaded = _load(tmp_path, news_page(article, site="湖州在线", date="2023-06-12", url=URL))
    assert loaded.shape == "html"
    [read] = loaded.articles
    assert read.title == article.title
    assert (read.publication, read.date, read.date_kind, read.url) == ("湖州在线", "2023-06-12", "published", URL)
    assert read.text.split("\n\n") == paragraphs(article)


def test_html_navigation_ads_and_comments_are_left_out(tmp_path, article):
    [read] = _load(tmp_path, news_page(article, site="湖州在线", date="2023-06-12", url=URL)).articles
    for chrome in ("首页", "楼盘火热认购中", "相关阅读", "网友评论", "什么时候通地铁", "版权所有", "责任编辑"):
        assert chrome not in read.text


@pytest.mark.parametrize("charset", ["gbk", "gb2312", "gb18030"])
def test_html_page_in_a_chinese_charset_is_decoded_by_its_declaration(tmp_path, article, charset):
    data = news_page(article, site="湖州在线", date="2023-06-12", url=URL, charset="gb18030")
    data = data.replace(b'charset="gb18030"', f'charset="{charset}"'.encode())
    loaded = _load(tmp_path, data)
    assert loaded.encoding == charset
    assert loaded.articles[0].text.split("\n\n") == paragraphs(article)


def test_html_page_without_a_declared_charset_is_sniffed(tmp_path, article):
    data = news_page(article, site="湖州在线", date="2023-06-12", url=URL, charset="gbk").replace(b'charset="gbk"', b"")
    loaded = _load(tmp_path, data)
    assert loaded.encoding in ("gbk", "gb18030")
    assert loaded.articles[0].title == article.title


def test_html_every_character_of_the_extracted_text_is_accounted(tmp_path, article):
    loaded = _load(tmp_path, news_page(article, site="湖州在线", date="2023-06-12", url=URL))
    accounting = account(loaded)
    assert accounting.ok, accounting.report()


def test_html_page_without_an_article_is_refused(tmp_path):
    titles = ["我市召开安全生产工作会议", "南太湖新区再添新地标"]
    links = "".join(f'<li><a href="/a/{n}.html">{t}</a></li>' for n, t in enumerate(titles))
    page = f"<!DOCTYPE html><html><head><title>湖州在线</title></head><body><ul>{links}</ul></body></html>".encode()
    with pytest.raises(DocumentFormatError, match="no article text"):
        _load(tmp_path, page)
