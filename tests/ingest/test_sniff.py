"""Loaders are chosen by content, never by file name."""

from __future__ import annotations

import pytest

from rag.ingest import load_source
from rag.ingest.sniff import detect_shape
from tests.conftest import CORPUS

EXPECTED = {
    "000_b906d9a3be0f9243.txt": "newspaper",
    "001_f3414c5a51445fce.txt": "newspaper",
    "002_73bfd24cb0fa9e4c.txt": "newspaper",
    "003_5f0dfba9933f395f.txt": "digest",
    "004_90004a5f8ebd7398.txt": "webscrape",
}


@pytest.mark.parametrize(("name", "shape"), EXPECTED.items())
def test_detect_shape_of_each_seed(name, shape):
    assert detect_shape((CORPUS / name).read_text(encoding="utf-8")) == shape


def test_detect_shape_ignores_the_file_name(tmp_path):
    renamed = tmp_path / "000_looks_like_a_page.txt"
    renamed.write_bytes((CORPUS / "003_5f0dfba9933f395f.txt").read_bytes())
    assert load_source(renamed, 2**26).shape == "digest"


def test_generic_loader_reads_a_markdown_file_per_heading(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# 湖州简讯一\n\n安吉县白茶产量增长。\n\n# 湖州简讯二\n\n德清县地理信息小镇集聚企业400余家。\n")
    loaded = load_source(path, 2**20)
    assert loaded.shape == "generic"
    assert [a.title for a in loaded.articles] == ["湖州简讯一", "湖州简讯二"]
    assert loaded.articles[1].text == "德清县地理信息小镇集聚企业400余家。"


def test_generic_loader_takes_a_short_first_line_as_title(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("Huzhou green finance\n\nHuzhou was named a national green finance\npilot zone in 2017.\n")
    article = load_source(path, 2**20).articles[0]
    assert article.title == "Huzhou green finance"
    assert article.text == "Huzhou was named a national green finance pilot zone in 2017."
